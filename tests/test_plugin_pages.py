"""Plugin config pages with the TB_* globals, and pluginMedia files that never leave pluginMedia/."""
import json
import os
import re
import urllib.error
import urllib.request

import pytest

from conftest import Client
from test_plugin_manager import plugin_zip, run_cli
from torrentlite.runner.manager import PluginManager

CONFIG_HTML = """<!DOCTYPE html>
<html><head><title>Configure</title></head>
<body><script>document.write(TB_plugin.pk)</script></body></html>
"""


@pytest.fixture
def plugin(app, tmp_path):
    manager = PluginManager(app.store, app.settings.plugins_path)
    row = manager.install_zip(plugin_zip(tmp_path / "p.zip", name="Paged", version="1.0", extra={
        "config.html": CONFIG_HTML, "instance.html": "<html><head></head><body>run</body></html>",
        "plan.html": "<p>no head element</p>", "pluginconfig.json": '{"level": 2}',
        "pluginMedia/css/site.css": "body { color: red; }", "secret.txt": "outside pluginMedia"}))
    return row


def page(pk, action):
    return "/configure/plugins/plugin/%s/configure/%s/" % (pk, action)


def globals_in(text):
    return dict(re.findall(r"var (TB_\w+) = (.*?);\n", text))


def test_config_page_injects_globals_before_head(client, plugin):
    response = client.get(page(plugin["id"], "config"))
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
    text = response.body.decode()
    head_end = text.index("</head>")
    assert text.index("var TB_plugin") < head_end
    values = globals_in(text)
    tb_plugin = json.loads(values["TB_plugin"])
    assert tb_plugin["pk"] == plugin["id"] and tb_plugin["model"] == "rundb.plugin"
    assert tb_plugin["fields"]["name"] == "Paged" and tb_plugin["fields"]["config"] == {"level": 2}
    assert json.loads(values["TB_pluginMedia"]) == "/pluginMedia/Paged/"
    assert json.loads(values["TB_user"]) == "ionadmin"
    assert json.loads(values["TB_result"]) is None
    assert "document.write(TB_plugin.pk)" in text


def test_report_page_with_result(client, app, plugin):
    result_pk = app.store.db.execute_sql('SELECT MIN(id) FROM "results"').fetchone()[0]
    response = client.get(page(plugin["id"], "report") + "?report=%d" % result_pk)
    assert response.status == 200
    values = globals_in(response.body.decode())
    assert json.loads(values["TB_result"]) == result_pk
    assert json.loads(values["TB_result_json"])["id"] == result_pk
    assert client.get(page(plugin["id"], "report") + "?report=999999").status == 404


def test_page_without_head_and_missing_page(client, plugin):
    text = client.get(page(plugin["id"], "plan")).body.decode()
    assert text.index("var TB_plugin") < text.index("<p>no head element</p>")
    missing = client.get(page(plugin["id"], "about"))
    assert missing.status == 200 and b"There is no information available for this plugin." in missing.body
    assert client.get(page(plugin["id"], "bogus")).status == 404
    assert client.get(page(999, "config")).status == 404


def test_pages_need_auth(app, plugin):
    assert Client(app).get(page(plugin["id"], "config")).status == 401


def test_script_breakout_is_escaped(client, app, plugin):
    manager = PluginManager(app.store, app.settings.plugins_path)
    manager._update(plugin["id"], {"config": {"x": "</script><script>alert(1)</script>"}})
    text = client.get(page(plugin["id"], "config")).body.decode()
    assert "</script><script>alert(1)" not in text


def test_plugin_media_served(client, anonymous, plugin):
    response = anonymous.get("/pluginMedia/Paged/css/site.css")
    assert response.status == 200 and response.body == b"body { color: red; }"
    relative = client.get(page(plugin["id"], "config") + "pluginMedia/css/site.css")
    assert relative.status == 200 and relative.body == b"body { color: red; }"


@pytest.mark.parametrize("path", [
    "/pluginMedia/Paged/../secret.txt", "/pluginMedia/Paged/%2e%2e/secret.txt", "/pluginMedia/Paged/css/../../Paged.py",
    "/pluginMedia/Paged//etc/passwd", "/pluginMedia/Paged/%2Fetc%2Fpasswd", "/pluginMedia/Paged/css",
    "/pluginMedia/Paged/nothing.css", "/pluginMedia/Nobody/site.css", "/pluginMedia/Paged/escape/passwd",
    "/pluginMedia/Paged/link.txt", "/pluginMedia/Paged/css%5c..%5c..%5csecret.txt",
])
def test_plugin_media_traversal_refused(anonymous, app, plugin, path):
    media = app.settings.plugins_path / "Paged" / "pluginMedia"
    os.symlink("/etc", media / "escape")
    os.symlink(app.settings.plugins_path / "Paged" / "secret.txt", media / "link.txt")
    response = anonymous.get(path)
    assert response.status == 404, path
    assert b"outside pluginMedia" not in response.body and b"root:" not in response.body


def test_config_page_over_real_http(live_server, tmp_path):
    archive = plugin_zip(tmp_path / "live.zip", name="Live", version="1.0", extra={"config.html": CONFIG_HTML})
    done = run_cli(live_server.data_dir, "install", str(archive))
    assert done.returncode == 0, done.stderr
    pk = int(done.stdout.split("(id ")[1].split(")")[0])
    request = urllib.request.Request(live_server.url + page(pk, "config"),
                                     headers={"Authorization": "ApiKey ionadmin:%s" % live_server.api_key})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    values = globals_in(text)
    assert json.loads(values["TB_plugin"])["fields"]["name"] == "Live"
    assert json.loads(values["TB_pluginMedia"]) == "/pluginMedia/Live/"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(live_server.url + page(pk, "config"), timeout=30)
    assert err.value.code == 401


def test_config_page_symlinked_outside_the_plugin_is_not_served(client, app, plugin, tmp_path):
    outside = tmp_path / "outside.html"
    outside.write_text("<html><head></head><body>SECRET outside the plugin</body></html>")
    folder = app.settings.plugins_path / "Paged"
    (folder / "config.html").unlink()
    os.symlink(outside, folder / "config.html")
    response = client.get(page(plugin["id"], "config"))
    assert response.status == 200 and b"SECRET" not in response.body
    assert b"There is no information available for this plugin." in response.body


def test_plugin_path_cannot_be_changed_through_the_api(client, anonymous, plugin, tmp_path):
    before = client.get(f"/rundb/api/v1/plugin/{plugin['id']}/").json()["path"]
    response = client.patch(f"/rundb/api/v1/plugin/{plugin['id']}/", json_body={"path": "/etc", "description": "x"})
    assert response.status in (200, 202, 204), response.body
    assert client.get(f"/rundb/api/v1/plugin/{plugin['id']}/").json()["path"] == before
    listing = anonymous.get(f"/rundb/api/v1/plugin/set/{plugin['id']}/type/").json()
    assert "passwd" not in listing[str(plugin["id"])]["files"]
