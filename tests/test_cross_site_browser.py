"""A page of another site, open in a real headless browser on the server's machine, cannot act as ionadmin
through loopback trust: its image tags and simple cross-site POSTs reach the server and are refused."""
from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from conftest import REPO, free_port, wait_until_responds
from test_plugin_manager import plugin_folder
from test_plugin_pages_browser import CHROMIUM, dump_dom

pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("TORRENTLITE_REQUIRE_BROWSER"),
                                reason="no Chromium on this machine")

ATTACK = """<!DOCTYPE html><html><body>
<img src="{api}plugin/rescan/">
<img src="{api}pluginresult/1/stop/">
<script>
fetch("{api}project/", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
       body: JSON.stringify({{name: "forged-by-fetch", creator: "/rundb/api/v1/user/1/"}})}})
  .finally(function () {{ document.body.setAttribute("data-sent", "yes"); }});
</script></body></html>
"""


def _api(url, path, key):
    request = urllib.request.Request(f"{url}/rundb/api/v1/{path}", headers={"Authorization": f"ApiKey ionadmin:{key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode())


def test_another_sites_page_cannot_use_loopback_trust(tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--port", str(port), "--data-dir",
                                 str(data_dir), "--threads", "2"], stdout=log, stderr=subprocess.STDOUT, env=env)
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_responds(f"{url}/rundb/api/v1/", proc=proc)
        key = subprocess.run([sys.executable, "-m", "torrentlite", "user", "key", "ionadmin", "--data-dir",
                              str(data_dir)], capture_output=True, text=True, env=env, check=True).stdout.strip()
        # A plugin folder that only a rescan would register.
        plugin_folder(data_dir / "plugins", name="Planted", version="1.0")
        (site / "index.html").write_text(ATTACK.format(api=f"{url}/rundb/api/v1/"))
        dom = dump_dom(f"http://127.0.0.1:{attacker.server_address[1]}/index.html", tmp_path / "profile")
        assert 'data-sent="yes"' in dom
        deadline = time.monotonic() + 10
        while log_path.read_text().count("loopback trust refused") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        projects = [p["name"] for p in _api(url, "project/?limit=0", key)["objects"]]
        assert "forged-by-fetch" not in projects
        plugins = [p["name"] for p in _api(url, "plugin/?limit=0", key)["objects"]]
        assert "Planted" not in plugins
        # The requests did reach the server (so the checks above prove something) and were refused.
        assert log_path.read_text().count("loopback trust refused") >= 3, log_path.read_text()[-3000:]
    finally:
        attacker.shutdown()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
