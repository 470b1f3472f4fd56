"""Loopback trust never extends to requests a browser sends for another site: foreign Origin/Referer,
Sec-Fetch-Site, unknown Host names (DNS rebinding) and form-type write bodies get no trust."""
from __future__ import annotations

import json

import pytest

from conftest import Client, admin_headers, make_settings
from torrentlite.api.cross_site import HostNames, foreign_reason, split_host
from torrentlite.app import build_app

API = "/rundb/api/v1/"
HOST = {"Host": "127.0.0.1:8080"}


def local(app, **headers) -> Client:
    return Client(app, {**HOST, **headers}, remote_addr="127.0.0.1")


def project_names(app) -> set:
    return {r[0] for r in app.store.db.execute_sql('SELECT name FROM "project"').fetchall()}


@pytest.mark.parametrize("headers", [
    {},
    {"Host": "localhost:8080"},
    {"Host": "[::1]:8080"},
    {"Origin": "http://127.0.0.1:8080"},
    {"Origin": "http://localhost:8080"},
    {"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8080"},
    {"Sec-Fetch-Site": "none"},
    {"Referer": "http://127.0.0.1:8080/configure/plugins/plugin/1/configure/config/"},
])
def test_own_site_and_scripts_keep_loopback_trust(app, headers):
    client = local(app, **headers)
    assert client.get(f"{API}results/").status == 200
    created = client.post(f"{API}project/", json_body={"name": "trusted", "creator": f"{API}user/1/"})
    assert created.status == 201, created.body


@pytest.mark.parametrize("headers,why", [
    ({"Origin": "http://evil.example"}, "Origin"),
    ({"Origin": "null"}, "Origin"),
    ({"Origin": "http://127.0.0.1:9999"}, "Origin"),          # same site, another port: another origin
    ({"Referer": "https://evil.example/page"}, "Referer"),
    ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site"),
    ({"Sec-Fetch-Site": "same-site"}, "Sec-Fetch-Site"),
    ({"Host": "rebound.evil.example:8080"}, "Host"),
])
def test_foreign_requests_get_no_loopback_trust(app, headers, why):
    client = local(app, **headers)
    read = client.get(f"{API}account/")
    assert read.status == 401 and why in read.json()["error"] and "api_key" not in read.body.decode()
    before = project_names(app)
    write = client.post(f"{API}project/", json_body={"name": "forged", "creator": f"{API}user/1/"})
    assert write.status == 401
    assert project_names(app) == before
    # With a real API key the same request is the key holder's, wherever it comes from.
    keyed = Client(app, {**HOST, **headers, **admin_headers(app)}, remote_addr="127.0.0.1")
    assert keyed.get(f"{API}account/").status == 200


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", ""])
def test_form_type_write_bodies_get_no_loopback_trust(app, ctype):
    body = json.dumps({"name": "simple", "creator": f"{API}user/1/"}).encode()
    before = project_names(app)
    response = local(app).post(f"{API}project/", data=body, headers={"Content-Type": ctype})
    assert response.status == 401, response.body
    assert "application/json" in response.json()["error"]
    assert project_names(app) == before
    # An API key holder may still send JSON as text/plain (clients do); the body type only guards trust.
    if ctype == "text/plain":
        keyed = Client(app, admin_headers(app), remote_addr="127.0.0.1")
        assert keyed.post(f"{API}project/", data=body, headers={"Content-Type": ctype}).status == 201


def test_side_effect_gets_cannot_be_fired_by_an_image_tag(app):
    img = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image",
           "Referer": "http://evil.example/"}
    for path in ("plugin/rescan/", "pluginresult/1/stop/", "plugin/1/rescan_plugin/"):
        response = local(app, **img).get(f"{API}{path}")
        assert response.status == 401, path
    # The same GET from a script on this machine still works.
    assert local(app).get(f"{API}plugin/rescan/").status == 202


def test_jsonp_cannot_leak_the_admin_key_to_another_site(app):
    script = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "script"}
    response = local(app, **script).get(f"{API}account/", params={"format": "jsonp", "callback": "steal"})
    assert response.status == 401 and b"api_key" not in response.body


def test_allowed_hosts_setting_adds_names(app):
    data_dir = app.settings.data_path
    app.close()
    named = build_app(make_settings(data_dir, allowed_hosts="sequencer.lab, tl.example"))
    try:
        for host in ("sequencer.lab", "TL.example:8080"):
            assert Client(named, {"Host": host}, remote_addr="127.0.0.1").get(f"{API}results/").status == 200
        assert Client(named, {"Host": "other.lab"}, remote_addr="127.0.0.1").get(f"{API}results/").status == 401
    finally:
        named.close()


def test_pages_use_the_same_guard(app):
    pk = app.store.db.execute_sql('SELECT MIN(id) FROM "plugin"').fetchone()[0] or 1
    page = f"/configure/plugins/plugin/{pk}/configure/config/"
    assert local(app, **{"Sec-Fetch-Site": "cross-site"}).get(page).status == 401


def test_foreign_reason_unit():
    hosts = HostNames(["tl.example"])
    assert split_host("[::1]:8080") == ("::1", 8080)
    assert split_host("Example.COM.") == ("example.com", 80)
    assert foreign_reason("GET", {"Host": "tl.example"}, hosts) is None
    assert foreign_reason("GET", {"Host": "127.0.0.1:80", "Origin": "http://tl.example"}, hosts) is None
    assert "Origin" in foreign_reason("GET", {"Host": "127.0.0.1:80", "Origin": "https://tl.example"}, hosts)
    assert foreign_reason("DELETE", {}, hosts) is None
    assert "untyped" in foreign_reason("POST", {"Content-Length": "5"}, hosts)
    assert foreign_reason("POST", {"Content-Type": "application/json", "Content-Length": "5"}, hosts) is None
