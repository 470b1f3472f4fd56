"""Who may read: ApiKey, Basic, PluginKey, loopback trust; 401 (never 403) otherwise; keys never logged."""
from __future__ import annotations

import logging

import pytest

from conftest import Client, admin_headers, basic_headers, make_settings
from torrentlite.app import build_app
from torrentlite.store.users import Users

API = "/rundb/api/v1/"
CHALLENGE = 'Basic Realm="Torrent Suite"'


def header(response, name):
    """A response header by case-insensitive name (Bottle writes Www-Authenticate)."""
    return {k.lower(): v for k, v in response.headers.items()}.get(name.lower())


def _key(app, name="ionadmin"):
    return Users(app.store).api_key(name)


@pytest.mark.parametrize("scheme", ["ApiKey", "apikey", "APIKEY"])
def test_api_key_header_scheme_is_case_insensitive(app, scheme):
    client = Client(app, {"Authorization": f"{scheme} ionadmin:{_key(app)}"})
    assert client.get(f"{API}results/").status == 200


def test_api_key_params(app):
    response = Client(app).get(f"{API}results/", params={"username": "ionadmin", "api_key": _key(app)})
    assert response.status == 200


def test_basic_auth(app):
    Users(app.store).create("alice", "s3cret!")
    assert Client(app, basic_headers("alice", "s3cret!")).get(f"{API}results/").status == 200
    bad = Client(app, basic_headers("alice", "wrong")).get(f"{API}results/")
    assert bad.status == 401 and header(bad, "WWW-Authenticate") == CHALLENGE


@pytest.mark.parametrize("headers,params", [
    ({"Authorization": "ApiKey ionadmin:0000000000000000000000000000000000000000"}, None),
    ({"Authorization": "ApiKey nobody:abc"}, None),
    ({"Authorization": "Bearer xyz"}, None),
    ({"Authorization": "Basic !!notbase64"}, None),
    ({}, {"username": "ionadmin", "api_key": "nope"}),
    ({}, None),
])
def test_bad_credentials_are_401_with_challenge(app, headers, params):
    response = Client(app, headers).get(f"{API}results/", params=params)
    assert response.status == 401
    assert header(response, "WWW-Authenticate") == CHALLENGE
    assert response.body == b""


def test_inactive_user_is_refused(app):
    users = Users(app.store)
    users.create("bob", "pw-bob")
    key = users.api_key("bob")
    assert Client(app, {"Authorization": f"ApiKey bob:{key}"}).get(f"{API}results/").status == 200
    users.set_active("bob", False)
    for client in (Client(app, {"Authorization": f"ApiKey bob:{key}"}), Client(app, basic_headers("bob", "pw-bob"))):
        response = client.get(f"{API}results/")
        assert response.status == 401


def test_reads_never_answer_403(app):
    Users(app.store).create("carol", "pw")
    client = Client(app, basic_headers("carol", "pw"))
    statuses = {client.get(f"{API}{name}/").status for name in ("results", "user", "plugin", "experiment")}
    assert statuses == {200}
    assert Client(app).get(f"{API}user/").status == 401


@pytest.mark.parametrize("path", ["", "getsoftwareinfo/", "torrentsuite/version/"])
def test_open_endpoints_need_no_auth(anonymous, path):
    assert anonymous.get(f"{API}{path}").status == 200


def test_loopback_is_trusted_by_default(app):
    assert Client(app, remote_addr="127.0.0.1").get(f"{API}results/").status == 200
    assert Client(app, remote_addr="::1").get(f"{API}results/").status == 200
    assert Client(app, remote_addr="10.0.0.7").get(f"{API}results/").status == 401


def test_loopback_trust_can_be_turned_off(app, tmp_path):
    data_dir = app.settings.data_path
    app.close()
    strict = build_app(make_settings(data_dir, trust_loopback=False))
    try:
        assert Client(strict, remote_addr="127.0.0.1").get(f"{API}results/").status == 401
        assert Client(strict, admin_headers(strict), remote_addr="127.0.0.1").get(f"{API}results/").status == 200
    finally:
        strict.close()


@pytest.fixture
def plugin_result(app):
    """A pluginresult row holding a running job's key."""
    store = app.store
    with store.write():
        store.db.execute_sql('INSERT INTO "plugin" (name, version, active, path, date) '
                             "VALUES ('KeyPlugin', '1.0', 1, '', '2020-01-01 00:00:00.000000')")
        plugin_id = store.db.execute_sql('SELECT max(id) FROM "plugin"').fetchone()[0]
        result_id = store.db.execute_sql('SELECT min(id) FROM "results"').fetchone()[0]
        store.db.execute_sql('INSERT INTO "pluginresult" (plugin_id, result_id, owner_id, apikey, store, size, '
                             "inodes) VALUES (?, ?, 1, 'plugin-secret-key', '{}', 0, 0)", (plugin_id, result_id))
        pr_id = store.db.execute_sql('SELECT max(id) FROM "pluginresult"').fetchone()[0]
    return pr_id


def test_plugin_key_header_and_params(app, plugin_result):
    ok = Client(app, {"Authorization": f"PluginKey {plugin_result}:plugin-secret-key"})
    assert ok.get(f"{API}results/").status == 200
    assert Client(app).get(f"{API}results/", params={"pluginresult": plugin_result,
                                                     "api_key": "plugin-secret-key"}).status == 200
    bad = Client(app, {"Authorization": f"PluginKey {plugin_result}:wrong"}).get(f"{API}results/")
    assert bad.status == 401
    assert Client(app, {"Authorization": "PluginKey 999999:plugin-secret-key"}).get(f"{API}results/").status == 401


def test_keys_never_appear_in_the_log(app, plugin_result, caplog):
    key = _key(app)
    caplog.set_level(logging.DEBUG)
    Client(app, {"Authorization": f"ApiKey ionadmin:{key}"}).get(f"{API}results/")
    Client(app).get(f"{API}results/", params={"username": "ionadmin", "api_key": key})
    Client(app).get(f"{API}results/", params={"username": "ionadmin", "api_key": key, "order_by": "nope"})
    Client(app).get(f"{API}results/", params={"pluginresult": plugin_result, "api_key": "plugin-secret-key"})
    Client(app, {"Authorization": f"ApiKey ionadmin:{key}x"}).get(f"{API}results/")
    Client(app, {"Authorization": f"ApiKey ionadmin:{key}"}).get(f"{API}results/abc/")
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert key not in text
    assert "plugin-secret-key" not in text
