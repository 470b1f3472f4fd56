"""Permission matrix for writes: who may POST/PATCH/DELETE, and a 401 changes nothing."""
from __future__ import annotations

import pytest

from conftest import Client, admin_headers
from torrentlite.store.users import Users

API = "/rundb/api/v1/"
# method -> (path, body); each needs its own permission: add_project, change_results, delete_results.
REQUESTS = {
    "POST": (API + "project/", {"name": "matrix", "creator": API + "user/1/"}),
    "PATCH": (API + "results/1/", {"resultsName": "patched"}),
    "DELETE": (API + "results/2/", None),
}
MATRIX = {
    "superuser": {"POST": 201, "PATCH": 202, "DELETE": 204},
    "change_results_only": {"POST": 401, "PATCH": 202, "DELETE": 401},
    "inactive": {"POST": 401, "PATCH": 401, "DELETE": 401},
    "plugin_key": {"POST": 201, "PATCH": 202, "DELETE": 204},
}


def state(app):
    db = app.store.db
    return {t: db.execute_sql(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()
            for t in ("project", "results", "pluginresult", "experiment")}


def caller(app, who: str) -> Client:
    users = Users(app.store)
    if who == "superuser":
        return Client(app, admin_headers(app))
    if who == "change_results_only":
        users.create("limited", "pw")
        users.grant("limited", ["change_results"])
        return Client(app, {"Authorization": f"ApiKey limited:{users.api_key('limited')}"})
    if who == "inactive":
        users.create("sleeper", "pw", superuser=True)
        key = users.api_key("sleeper")
        users.set_active("sleeper", False)
        return Client(app, {"Authorization": f"ApiKey sleeper:{key}"})
    admin = Client(app, admin_headers(app))
    plugin = admin.post(API + "plugin/", json_body={"name": "Perm", "version": "1", "active": True,
                                                    "date": "2020-01-01T00:00:00"})
    assert plugin.status == 201, plugin.body
    pr = admin.post(API + "pluginresult/", json_body={"result": API + "results/3/",
                                                      "plugin": plugin.headers["Location"]})
    assert pr.status == 201, pr.body
    pr_id = int(pr.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    app.store.db.execute_sql('UPDATE "pluginresult" SET apikey = ? WHERE id = ?', ("k" * 20, pr_id))
    return Client(app, {"Authorization": f"PluginKey {pr_id}:{'k' * 20}"})


@pytest.mark.parametrize("who", sorted(MATRIX))
@pytest.mark.parametrize("method", sorted(REQUESTS))
def test_permission_matrix(app, who, method):
    client = caller(app, who)
    path, body = REQUESTS[method]
    before = state(app)
    r = client.request(method, path, json_body=body)
    expected = MATRIX[who][method]
    assert r.status == expected, (who, method, r.status, r.body)
    if expected == 401:
        assert r.body == b""
        assert state(app) == before
        if who != "inactive":
            assert "WWW-Authenticate" not in r.headers
    else:
        assert state(app) != before


def test_plugin_key_cannot_delete_plugin_results(app):
    client = caller(app, "plugin_key")
    pr = Client(app, admin_headers(app)).get(API + "pluginresult/").json()["objects"][0]
    before = state(app)
    r = client.delete(pr["resource_uri"])
    assert r.status == 401 and r.body == b"" and "WWW-Authenticate" not in r.headers
    assert state(app) == before
    assert client.patch(pr["resource_uri"], json_body={"store": {"progress": 50}}).status == 202


def test_list_writes_without_permission_change_nothing(app):
    client = caller(app, "change_results_only")
    before = state(app)
    assert client.delete(API + "results/", params={"confirm": "all"}).status == 401
    assert client.patch(API + "project/", json_body={"objects": [{"name": "x", "creator": API + "user/1/"}]}
                        ).status == 401
    assert client.put(API + "results/?status=Completed", json_body={"objects": []}).status == 401
    assert state(app) == before
