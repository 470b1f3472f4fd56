"""The scaffold's configuration page in headless Chromium: its pluginMedia script loads, it reads TB_plugin,
and its extend.py function answers with the saved global configuration."""
from __future__ import annotations

import json
import urllib.request

from test_plugin_manager import run_cli
from test_plugin_pages_browser import dump_dom, pytestmark  # noqa: F401  (skip without Chromium)
from torrentlite.runner.authoring import pack_plugin
from torrentlite.runner.scaffold import new_plugin


def test_scaffold_config_page_shows_its_extend_answer(live_server, tmp_path):
    folder = new_plugin("Scaffolded", tmp_path)
    archive, _ = pack_plugin(folder, tmp_path / "Scaffolded.zip")
    run_cli(live_server.data_dir, "install", str(archive))
    pk = run_cli(live_server.data_dir, "list").stdout.split()[0]
    request = urllib.request.Request(f"{live_server.url}/rundb/api/v1/plugin/{pk}/", method="PUT",
                                     data=json.dumps({"config": {"greeting": "Hi there"}}).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"ApiKey ionadmin:{live_server.api_key}"})
    with urllib.request.urlopen(request) as response:
        assert response.status in (202, 204)
    url = (f"{live_server.url}/configure/plugins/plugin/{pk}/configure/config/"
           f"?username=ionadmin&api_key={live_server.api_key}")
    dom = dump_dom(url, tmp_path / "profile")
    assert '<span id="summary">Scaffolded 0.1.0 says Hi there</span>' in dom, dom[:3000]
