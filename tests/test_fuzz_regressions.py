"""Requests that once got a 500: deep nesting, numbers beyond 64 bits, lone surrogates, odd header bytes."""
from __future__ import annotations

import pytest

from tests.conftest import Client

API = "/rundb/api/v1/"
HUGE = "99999999999999999999"
DEEP = "[" * 2000 + "]" * 2000


def _clear_4xx(response):
    assert 400 <= response.status < 500, (response.status, response.body[:300])


@pytest.mark.parametrize("path", ["results/", "experiment/1/", "plugin/install/", "results/1/plugin/"])
def test_deeply_nested_json_body_is_a_400(client, path):
    method = client.patch if path.endswith("1/") else client.post
    _clear_4xx(method(API + path, data=DEEP.encode(), headers={"Content-Type": "application/json"}))


def test_deeply_nested_filters_parameter_is_a_400(reader):
    _clear_4xx(reader.get(API + "results/", params={"filters": DEEP}))


@pytest.mark.parametrize("method,path", [
    ("GET", f"plugin/set/{HUGE}/type/"), ("GET", f"plugin/set/1;{HUGE}/type/"), ("GET", f"plugin/{HUGE}/info/"),
    ("GET", f"plugin/{HUGE}/type/"), ("GET", f"plugin/{HUGE}/extend/f/"), ("GET", f"pluginresult/{HUGE}/stop/"),
    ("POST", f"results/{HUGE}/plugin/"), ("GET", f"results/{HUGE}/pluginresults/"),
    ("DELETE", f"pluginresult/{HUGE}/delete/"), ("GET", f"plugin/{HUGE}/rescan_plugin/"),
    ("DELETE", f"plugin/{HUGE}/uninstall/"), ("GET", f"account/{HUGE}/"), ("GET", f"results/{HUGE}/metadata/"),
    ("GET", f"results/{HUGE}/pluginstore/"), ("GET", f"content/?limit={HUGE}"),
    ("GET", f"content/?offset={HUGE}"),
])
def test_huge_numbers_in_custom_endpoint_urls(client, method, path):
    body = b'{"plugin": "x"}' if method == "POST" else None
    response = client.request(method, API + path, data=body,
                              headers={"Content-Type": "application/json"} if body else None)
    assert response.status < 500, (response.status, response.body[:300])


@pytest.mark.parametrize("page", [f"/configure/plugins/plugin/{HUGE}/configure/config/",
                                  f"/configure/plugins/plugin/{HUGE}/configure/config/pluginMedia/x.js"])
def test_huge_numbers_in_configure_pages(client, page):
    assert client.get(page).status == 404


def test_huge_plugin_key_is_refused_without_a_500(anonymous):
    response = anonymous.get(API + "results/", headers={"Authorization": f"PluginKey {HUGE}:x"})
    assert response.status == 401
    response = anonymous.get(API + "results/", params={"pluginresult": HUGE, "api_key": "x"})
    assert response.status == 401


@pytest.mark.parametrize("body", [b'{"status": "\\udcff"}', b'{"\\ud800": 1}', b'{"status": ["a", "\\udfff"]}'])
def test_lone_surrogate_in_json_is_a_400(client, body):
    response = client.patch(API + "results/1/", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400, response.body
    assert client.get(API + "results/1/").status == 200


def test_surrogate_pair_escape_is_accepted(client):
    response = client.patch(API + "results/1/", data=b'{"status": "\\ud83d\\ude00"}',
                            headers={"Content-Type": "application/json"})
    assert response.status in (200, 202, 204), response.body
    assert client.get(API + "results/1/").json()["status"] == "\U0001F600"


def test_lone_surrogate_in_filters_is_a_400(reader):
    _clear_4xx(reader.get(API + "results/", params={"filters": '[["status", "=", "\\udcff"]]'}))


def test_non_utf8_authorization_header_is_a_401(app):
    anonymous = Client(app)
    for value in ("ApiKey ionadmin:\xff\xfe", "Basic \xff", "PluginKey 1:\xff"):
        response = anonymous.get(API + "results/", headers={"Authorization": value})
        assert response.status == 401, (value, response.status, response.body[:200])


@pytest.mark.parametrize("resource", ["availableionchefplannedexperiment", "results", "project"])
def test_list_put_with_an_object_that_is_not_an_object_is_a_400(client, resource):
    before = client.get(API + f"{resource}/?limit=0").json()["meta"]["total_count"]
    response = client.put(API + f"{resource}/", json_body={"objects": [1]})
    assert response.status == 400, response.body
    assert client.get(API + f"{resource}/?limit=0").json()["meta"]["total_count"] == before


@pytest.mark.parametrize("name", ["X-HTTP-Method-Override", "Content-Type", "Origin", "Cookie", "Accept"])
def test_non_utf8_bytes_in_any_header_are_no_500(client, anonymous, name):
    for c in (client, anonymous):
        for method in ("GET", "PATCH", "OPTIONS"):
            response = c.request(method, API + "results/1/", data=b'{"status": "x"}' if method == "PATCH" else None,
                                 headers={name: "\xff\xfe \xe9"})
            assert response.status < 500, (name, method, response.status, response.body[:200])


@pytest.mark.parametrize("params", [{"username": "ionadmin", "api_key": "\u00e9\u00ff"},
                                    {"pluginresult": "1", "api_key": "\u00e9"}])
def test_non_ascii_keys_in_the_query_are_refused(anonymous, params):
    assert anonymous.get(API + "results/", params=params).status == 401
