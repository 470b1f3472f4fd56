"""The server process itself: requests in flight finish on SIGTERM, and the WAL reaches the main file."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import threading
import urllib.request

import pytest

from conftest import _copy_data_dir, free_port, make_settings, wait_until_responds
from servers import wait_for
from test_plugin_manager import plugin_zip
from torrentlite import serving
from torrentlite.app import build_app
from torrentlite.runner.manager import PluginManager

SLOW_EXTEND = '''
import time
MARKER = %r


def slow(bucket):
    open(MARKER, "w").close()
    time.sleep(5)
    return "done"
'''


@pytest.fixture
def served_app(demo_template, tmp_path):
    data = _copy_data_dir(demo_template, tmp_path / "data")
    app = build_app(make_settings(data, port=str(free_port())))
    yield app
    app.store.close()


def _run_beside(server, work):
    """Run `work` in a thread while this (main) thread serves; re-raise what it raised."""
    failure = []

    def wrapped():
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            failure.append(exc)
        finally:
            server.stop()

    thread = threading.Thread(target=wrapped)
    thread.start()
    server.serve()
    thread.join(60)
    if failure:
        raise failure[0]


def test_sigterm_finishes_requests_in_flight_and_refuses_new_ones(served_app, tmp_path):
    app = served_app
    marker = tmp_path / "in-flight"
    PluginManager(app.store, app.settings.plugins_path).install_zip(
        plugin_zip(tmp_path / "slow.zip", name="Slow", version="1.0", extra={"extend.py": SLOW_EXTEND % str(marker)}))
    app.api.plugin_extend.timeout = 60
    server = serving.Server(app)
    base = f"http://127.0.0.1:{app.settings.port}"
    seen = {}

    def work():
        wait_until_responds(f"{base}/rundb/api/v1/")

        def slow():
            with urllib.request.urlopen(f"{base}/rundb/api/v1/plugin/Slow/extend/slow/", timeout=60) as resp:
                seen["slow"] = (resp.status, resp.read())

        request = threading.Thread(target=slow)
        request.start()
        wait_for(marker.exists, what="the slow request to be in flight")
        os.kill(os.getpid(), signal.SIGTERM)

        def refused():
            try:
                socket.create_connection(("127.0.0.1", app.settings.port), timeout=1).close()
                return False
            except OSError:
                return True

        seen["refused_while_busy"] = wait_for(refused, what="the listening socket to close")
        seen["still_in_flight"] = request.is_alive()
        request.join(60)

    _run_beside(server, work)
    assert seen["refused_while_busy"] and seen["still_in_flight"]
    assert seen["slow"] == (200, b'"done"')
    assert not (app.settings.data_path / serving.STATE_FILE).exists()


def test_periodic_checkpoints_keep_the_main_file_current(served_app, tmp_path, monkeypatch):
    app = served_app
    monkeypatch.setattr(serving, "CHECKPOINT_INTERVAL", 0.2)
    server = serving.Server(app)
    base = f"http://127.0.0.1:{app.settings.port}/rundb/api/v1/"

    def main_file_alone() -> int:
        copy = tmp_path / "main-only.sqlite3"
        shutil.copyfile(app.settings.db_path, copy)  # without its -wal: what a crash-time copy holds
        conn = sqlite3.connect(copy)
        try:
            return conn.execute("SELECT COUNT(*) FROM message WHERE body LIKE 'ckpt-%'").fetchone()[0]
        finally:
            conn.close()
            copy.unlink()

    def work():
        wait_until_responds(base)
        for n in range(5):
            request = urllib.request.Request(f"{base}message/", data=f'{{"body": "ckpt-{n}"}}'.encode(),
                                             method="POST", headers={"Content-Type": "application/json"})
            assert urllib.request.urlopen(request, timeout=30).status == 201
        wait_for(lambda: main_file_alone() == 5, what="the writes to reach the main database file")

    _run_beside(server, work)
