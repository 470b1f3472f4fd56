"""One process runs a data directory's plugin jobs; the CLI works beside a running server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

from conftest import REPO, free_port

PLUGIN = '''#!/usr/bin/env python3
import os, time
from ion.plugin import *


class {name}(IonPlugin):
    """Writes a marker, then sleeps {seconds} s."""
    version = "1.0.0"

    def launch(self, data=None):
        open("running", "w").write(str(os.getpid()))
        time.sleep({seconds})
        return True


if __name__ == "__main__":
    PluginCLI()
'''


def cli(*args, data_dir, check=True, timeout=60):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "torrentlite", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=env, check=check, timeout=timeout)


def make_plugin(parent, name, seconds):
    folder = parent / name
    folder.mkdir(parents=True)
    (folder / f"{name}.py").write_text(PLUGIN.format(name=name, seconds=seconds))
    return folder


def jobs(server, pr):
    request = urllib.request.Request(f"{server.url}/rundb/api/v1/PluginResultJob/?limit=0",
                                     headers={"Authorization": f"ApiKey ionadmin:{server.api_key}"})
    with urllib.request.urlopen(request) as response:
        return [j for j in json.load(response)["objects"]]


def test_second_server_on_the_same_data_dir_is_refused(live_server):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "torrentlite", "serve", "--port", str(free_port()),
                           "--data-dir", str(live_server.data_dir)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 2
    assert f"pid {live_server.proc.pid}" in proc.stderr and "already serves" in proc.stderr


def test_cli_run_is_executed_by_the_server_and_cli_stop_kills_it(live_server, tmp_path):
    cli("plugin", "install", str(make_plugin(tmp_path, "Quick", 0)), data_dir=live_server.data_dir)
    cli("plugin", "install", str(make_plugin(tmp_path, "Slow", 120)), data_dir=live_server.data_dir)
    done = cli("plugin", "run", "Quick", "--result", "1", "--timeout", "30", data_dir=live_server.data_dir)
    assert "Quick" in done.stdout and "Completed" in done.stdout
    assert "the server" in done.stderr  # queued here, run by the server's scheduler

    runner = subprocess.Popen([sys.executable, "-m", "torrentlite", "plugin", "run", "Slow", "--result", "1",
                               "--data-dir", str(live_server.data_dir)],
                              env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        started = []
        while time.monotonic() < deadline and not started:
            started = [j for j in jobs(live_server, None) if j["state"] == "Started"]
            time.sleep(0.2)
        assert started, "the server did not start the slow plugin"
        pr = [p for p in range(1, 10) if cli("plugin", "stop", str(p), data_dir=live_server.data_dir,
                                             check=False).stdout.startswith(f"pluginresult {p}: 1")]
        assert pr, "no plugin result had a job to stop"
        assert runner.wait(timeout=30) == 1  # the waiting CLI sees Cancelled, not Completed
        states = {j["state"] for j in jobs(live_server, None)}
        assert "Started" not in states and "Cancelled" in states
    finally:
        runner.kill()
