"""A real `python -m torrentlite serve --demo` process on a free port."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

from conftest import REPO, free_port, wait_until_responds


def _get(url, key=None):
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"ApiKey ionadmin:{key}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read().decode())


def _counts(db_path):
    con = sqlite3.connect(db_path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


def test_live_server_answers_and_restart_changes_nothing(live_server):
    status, body = _get(f"{live_server.url}/rundb/api/v1/results/?limit=5", live_server.api_key)
    assert status == 200
    assert body["meta"]["limit"] == 5 and len(body["objects"]) == 3
    try:
        _get(f"{live_server.url}/rundb/api/v1/results/?limit=5")
        raise AssertionError("anonymous read should be refused (loopback trust is off)")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401

    db = live_server.data_dir / "torrentlite.sqlite3"
    live_server.proc.terminate()
    first_out, _ = live_server.proc.communicate(timeout=10)
    before = _counts(db)

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--demo", "--port", str(port),
                             "--data-dir", str(live_server.data_dir), "--no-trust-loopback"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        wait_until_responds(f"http://127.0.0.1:{port}/rundb/api/v1/", proc=proc)
        status, again = _get(f"http://127.0.0.1:{port}/rundb/api/v1/results/?limit=5", live_server.api_key)
        assert status == 200 and again["objects"] == body["objects"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    # The key is printed once, by the start that created it; later starts say how to get it.
    assert live_server.api_key in first_out
    assert live_server.api_key not in out and "torrentlite user key ionadmin" in out
    assert _counts(db) == before
