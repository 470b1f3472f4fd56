"""A plugin's configuration page in a real headless browser: its script sees the injected TB_* globals
and loads its own files from pluginMedia."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from test_plugin_manager import plugin_zip, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# CI installs Chromium and sets TORRENTLITE_REQUIRE_BROWSER, so there a missing browser fails the run.
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("TORRENTLITE_REQUIRE_BROWSER"),
                                reason="no Chromium on this machine")

CONFIG_HTML = """<!DOCTYPE html>
<html><head><title>Configure</title>
<script src="/pluginMedia/Browsed/app.js"></script></head>
<body><div id="out"></div>
<script>
document.getElementById("out").setAttribute("data-plugin", TB_plugin.fields.name + "@" + TB_plugin.pk);
document.getElementById("out").setAttribute("data-media", TB_pluginMedia);
document.getElementById("out").setAttribute("data-config", JSON.stringify(TB_plugin.fields.config));
document.getElementById("out").setAttribute("data-user", TB_user);
</script></body></html>
"""
APP_JS = 'window.addEventListener("DOMContentLoaded", function () {' \
         ' document.body.setAttribute("data-media-script", "loaded"); });'


def dump_dom(url: str, profile) -> str:
    """The page's DOM after its scripts ran, as Chromium sees it."""
    assert CHROMIUM, "Chromium is required for this test run but is not installed"
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_config_page_runs_in_a_browser_with_its_globals(live_server, tmp_path):
    archive = plugin_zip(tmp_path / "Browsed.zip", name="Browsed", version="1.0",
                         extra={"config.html": CONFIG_HTML, "pluginMedia/app.js": APP_JS,
                                "pluginconfig.json": '{"depth": 3}'})
    run_cli(live_server.data_dir, "install", str(archive))
    pk = run_cli(live_server.data_dir, "list").stdout.split()[0]
    url = (f"{live_server.url}/configure/plugins/plugin/{pk}/configure/config/"
           f"?username=ionadmin&api_key={live_server.api_key}")
    dom = dump_dom(url, tmp_path / "profile")
    assert f'data-plugin="Browsed@{pk}"' in dom
    assert 'data-media="/pluginMedia/Browsed/"' in dom
    assert 'data-config="{&quot;depth&quot;:3}"' in dom
    assert 'data-user="ionadmin"' in dom
    assert 'data-media-script="loaded"' in dom


def test_config_page_without_credentials_shows_nothing_of_the_plugin(live_server, tmp_path):
    archive = plugin_zip(tmp_path / "Browsed.zip", name="Browsed", version="1.0", extra={"config.html": CONFIG_HTML})
    run_cli(live_server.data_dir, "install", str(archive))
    pk = run_cli(live_server.data_dir, "list").stdout.split()[0]
    dom = dump_dom(f"{live_server.url}/configure/plugins/plugin/{pk}/configure/config/", tmp_path / "profile")
    assert "data-plugin" not in dom and "Browsed" not in dom
