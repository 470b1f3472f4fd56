"""extend.py calls: through the runner directly and through ANY plugin/<pk-or-name>/extend/<function>/."""
import json
import time

import pytest

from conftest import Client
from test_plugin_manager import plugin_zip
from torrentlite.runner.extend import ERROR, MISSING, OK, ExtendRunner
from torrentlite.runner.manager import PluginManager

EXTEND_PY = '''
import json
import os
import time
from ion.plugin import RunType


def echo(bucket):
    print("plugin chatter on stdout must not break the answer")
    return {"get": bucket["request_get"].get("q"), "all": bucket["request_get"].getlist("q"),
            "post": bucket.get("request_post"), "has_post": "request_post" in bucket,
            "method": bucket["request_method"], "user": bucket["user"], "name": bucket["name"],
            "version": bucket["version"], "config": bucket["config"], "fullchip": RunType.FULLCHIP,
            "cwd": os.path.basename(os.getcwd())}


def options(bucket):
    return "<option>disk</option>"


def crash(bucket):
    raise RuntimeError("the disk is on fire")


def hang(bucket):
    time.sleep(60)


def vanish(bucket):
    os._exit(7)


def not_json(bucket):
    return object()
'''


@pytest.fixture
def plugin(app, tmp_path):
    manager = PluginManager(app.store, app.settings.plugins_path)
    row = manager.install_zip(plugin_zip(tmp_path / "ext.zip", name="Ext", version="1.2",
                                         extra={"extend.py": EXTEND_PY, "pluginconfig.json": '{"depth": 5}'}))
    app.api.plugin_extend.timeout = 2
    yield row
    app.api.plugin_extend.close()


def url(key, function):
    return "/rundb/api/v1/plugin/%s/extend/%s/" % (key, function)


def test_get_by_name_without_auth(app, plugin):
    response = Client(app).get(url("Ext", "echo"), params={"q": ["a", "b"]})
    assert response.status == 200, response.body
    body = response.json()
    assert body["get"] == "b" and body["all"] == ["a", "b"]
    assert body["has_post"] is False and body["method"] == "GET"
    assert body["user"] == "AnonymousUser"
    assert (body["name"], body["version"], body["config"]) == ("Ext", "1.2", {"depth": 5})
    assert body["fullchip"] == "wholechip" and body["cwd"] == "Ext"


def test_post_by_pk_with_user(client, plugin):
    response = client.post(url(plugin["id"], "echo"), json_body={"x": [1, 2]})
    body = response.json()
    assert body["post"] == {"x": [1, 2]} and body["method"] == "POST" and body["user"] == "ionadmin"
    assert client.post(url(plugin["id"], "echo") + "?ir_user=someone", json_body={}).json()["user"] == "someone"


def test_any_method_and_string_result(app, plugin):
    anonymous = Client(app)
    assert anonymous.delete(url("Ext", "echo")).json()["method"] == "DELETE"
    assert anonymous.put(url("Ext", "options")).json() == "<option>disk</option>"


@pytest.mark.parametrize("body", [b"{not json", b"[" * 2000, b'"\\udcff"'])
def test_invalid_post_json_is_400(app, plugin, body):
    response = Client(app).post(url("Ext", "echo"), data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400 and "not JSON" in response.json()["error"]


@pytest.mark.parametrize("function,message", [
    ("crash", "RuntimeError: the disk is on fire"),
    ("hang", "did not finish within 2s"),
    ("vanish", "exit 7"),
    ("not_json", "not JSON"),
])
def test_failures_are_500_and_server_keeps_answering(app, plugin, function, message):
    anonymous = Client(app)
    started = time.monotonic()
    response = anonymous.get(url("Ext", function))
    assert response.status == 500
    assert message in response.json()["error"]
    assert time.monotonic() - started < 10
    assert anonymous.get(url("Ext", "echo")).status == 200
    assert anonymous.get("/rundb/api/v1/plugin/%d/extend/echo/" % plugin["id"]).status == 200


def test_missing_function_plugin_or_file_is_404(app, plugin, tmp_path):
    anonymous = Client(app)
    assert anonymous.get(url("Ext", "nothing_here")).status == 404
    assert anonymous.get(url("Ext", "__import__")).status == 404
    assert anonymous.get(url("NoSuchPlugin", "echo")).status == 404
    assert anonymous.get(url("999", "echo")).status == 404
    (app.settings.plugins_path / "Ext" / "extend.py").unlink()
    assert anonymous.get(url("Ext", "echo")).status == 404


def test_uninstalled_plugin_is_404(app, plugin, client):
    assert client.delete("/rundb/api/v1/plugin/%d/uninstall/" % plugin["id"]).status == 200
    assert Client(app).get(url("Ext", "echo")).status == 404
    assert Client(app).get(url(plugin["id"], "echo")).status == 404


def test_edited_extend_py_is_reloaded(app, plugin):
    anonymous = Client(app)
    assert anonymous.get(url("Ext", "options")).json() == "<option>disk</option>"
    path = app.settings.plugins_path / "Ext" / "extend.py"
    path.write_text(EXTEND_PY.replace("<option>disk</option>", "<option>tape</option>"))
    assert anonymous.get(url("Ext", "options")).json() == "<option>tape</option>"


@pytest.mark.parametrize("idle", [0, 2])
def test_runner_outcomes(tmp_path, idle):
    folder = tmp_path / "Ext"
    folder.mkdir()
    (folder / "extend.py").write_text(EXTEND_PY)
    runner = ExtendRunner(timeout=2, idle_per_plugin=idle)
    bucket = {"request_get": {"q": ["1"]}, "request_method": "GET", "user": "u", "name": "Ext", "version": "1",
              "config": {}}
    try:
        ok = runner.call(folder, "Ext", "echo", bucket)
        assert ok.status == OK and ok.result["get"] == "1"
        assert runner.call(folder, "Ext", "nope", {}).status == MISSING
        assert runner.call(folder, "Ext", "crash", {}).status == ERROR
        assert runner.call(folder, "Ext", "echo", bucket).status == OK
        assert runner.call(tmp_path, "Nothing", "echo", {}).status == MISSING
        json.dumps(ok.result)
    finally:
        runner.close()


def test_a_cross_site_caller_is_anonymous_even_from_loopback(app, plugin):
    local = Client(app, {"Host": "127.0.0.1:8080"}, remote_addr="127.0.0.1")
    assert local.get(url("Ext", "echo")).json()["user"] == "ionadmin"
    foreign = local.get(url("Ext", "echo"), headers={"Sec-Fetch-Site": "cross-site"})
    assert foreign.status == 200 and foreign.json()["user"] == "AnonymousUser"
