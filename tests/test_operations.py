"""A box that lives for years: backup under writers, restore, kill -9 then check, clean stop, status, logs."""
from __future__ import annotations

import json
import os
import signal
import threading
import urllib.request
from pathlib import Path

import pytest

from servers import Served, cli, wait_for

API = "/rundb/api/v1/"


def _key(data_dir) -> str:
    done = cli("user", "key", "ionadmin", "--data-dir", data_dir)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _request(url, key, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"ApiKey ionadmin:{key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.read()


def _messages(url, key) -> set:
    _, body = _request(f"{url}{API}message/?limit=0", key)
    return {o["body"] for o in json.loads(body)["objects"]}


class Writers:
    """Threads writing numbered messages until stopped; `acknowledged` holds the ones the server confirmed."""

    def __init__(self, url, key, count=2):
        self.url, self.key = url, key
        self.acknowledged: list[str] = []
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(n,)) for n in range(count)]

    def _write(self, n):
        i = 0
        while not self.halt.is_set():
            body = f"w{n}-{i}"
            try:
                status, _ = _request(f"{self.url}{API}message/", self.key, "POST", {"body": body, "level": 20})
            except OSError:  # the server went away mid-request: not acknowledged
                return
            if status == 201:
                self.acknowledged.append(body)
            i += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        wait_for(lambda: len(self.acknowledged) >= 20, what="first writes")
        return self

    def __exit__(self, *exc):
        self.halt.set()
        for t in self.threads:
            t.join(60)


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    assert cli("init", "--demo", "--no-demo-plugins", "--data-dir", data).returncode == 0
    return data


def test_backup_while_writers_run_then_restore_reads_back_every_acknowledged_write(data_dir, tmp_path):
    key = _key(data_dir)
    with Served(data_dir) as server:
        with Writers(server.url, key) as writers:
            before_backup = list(writers.acknowledged)
            done = cli("backup", tmp_path / "bk", "--all", "--data-dir", data_dir)
            assert done.returncode == 0, done.stderr
            assert "database: 100%" in done.stderr
            wait_for(lambda: len(writers.acknowledged) > len(before_backup) + 5, what="writes after the backup")
        assert server.stop() == 0
    written = set(writers.acknowledged)
    assert (tmp_path / "bk" / "results").is_dir() and json.loads((tmp_path / "bk" / "backup.json").read_text())
    target = tmp_path / "restored"
    done = cli("restore", tmp_path / "bk", "--data-dir", target)
    assert done.returncode == 0, done.stderr
    assert cli("check", "--data-dir", target).returncode == 0
    with Served(target) as server:
        restored = _messages(server.url, _key(target))
        assert set(before_backup) <= restored          # every write acknowledged before the backup began
        assert restored <= written                     # and nothing that was never written
        _, body = _request(f"{server.url}{API}results/?limit=0", _key(target))
        for report in json.loads(body)["objects"]:     # report folders moved with the data directory
            assert report["filesystempath"].startswith(str(target)) and os.path.isdir(report["filesystempath"])
        assert server.stop() == 0


def test_restore_refuses_while_a_server_runs_and_keeps_the_old_copy(data_dir, tmp_path):
    key = _key(data_dir)
    assert cli("backup", tmp_path / "bk", "--data-dir", data_dir).returncode == 0
    with Served(data_dir) as server:
        _request(f"{server.url}{API}message/", key, "POST", {"body": "after the backup", "level": 20})
        done = cli("restore", tmp_path / "bk", "--data-dir", data_dir)
        assert done.returncode == 2 and "stop it first" in done.stderr
        assert server.stop() == 0
    done = cli("restore", tmp_path / "bk", "--data-dir", data_dir)
    assert done.returncode == 0, done.stderr
    kept = [p for p in data_dir.iterdir() if p.name.startswith("pre-restore-")]
    assert len(kept) == 1 and (kept[0] / "torrentlite.sqlite3").is_file()
    with Served(data_dir) as server:
        assert "after the backup" not in _messages(server.url, key)
        server.stop()
    with Served(_as_data_dir(kept[0], tmp_path)) as old:
        assert "after the backup" in _messages(old.url, _key(old.data_dir))
        old.stop()


def _as_data_dir(kept: Path, tmp_path: Path) -> Path:
    target = tmp_path / "old"
    target.mkdir()
    os.replace(kept / "torrentlite.sqlite3", target / "torrentlite.sqlite3")
    return target


def test_kill_9_under_writers_then_check_is_clean_and_writes_survive(data_dir):
    key = _key(data_dir)
    server = Served(data_dir)
    with server:
        with Writers(server.url, key) as writers:
            wait_for(lambda: len(writers.acknowledged) >= 60, what="writes")
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(30)
    done = cli("check", "--data-dir", data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stdout
    status = cli("status", "--data-dir", data_dir)
    assert status.returncode == 3 and "no torrentlite server runs" in status.stdout
    with Served(data_dir) as again:
        assert set(writers.acknowledged) <= _messages(again.url, key)
        again.stop()


def test_sigterm_stops_cleanly_and_status_follows(data_dir):
    with Served(data_dir) as server:
        status = cli("status", "--json", "--data-dir", data_dir)
        assert status.returncode == 0, status.stdout
        state = json.loads(status.stdout)
        assert state["serving"] and state["url"] == f"{server.url}{API}" and state["pid"] == server.proc.pid
        assert state["jobs_queued"] == 0 and state["jobs_running"] == 0 and "uptime_seconds" in state
        assert server.stop(signal.SIGTERM) == 0
    wal = data_dir / "torrentlite.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0   # checkpointed into the main file
    assert not (data_dir / "server.json").exists()
    log = (data_dir / "logs" / "torrentlite.log").read_text()
    assert "SIGTERM received: stopping" in log and log.rstrip().endswith("stopped")
    assert cli("status", "--data-dir", data_dir).returncode == 3


def test_log_lines_hold_no_secret(data_dir):
    key = _key(data_dir)
    password = "Pa55-word-never-logged"
    done = cli("user", "create", "bob", "--data-dir", data_dir, input=password + "\n")
    assert done.returncode == 0
    with Served(data_dir, "--no-trust-loopback") as server:
        import base64

        basic = base64.b64encode(f"bob:{password}".encode()).decode()
        for url, headers in [
            (f"{server.url}{API}results/?username=ionadmin&api_key={key}", {}),
            (f"{server.url}{API}results/?pluginresult=1&api_key={key}&limit=1", {}),
            (f"{server.url}{API}results/?Api_Key={key}&password={password}", {}),
            (f"{server.url}{API}results/", {"Authorization": f"ApiKey ionadmin:{key}"}),
            (f"{server.url}{API}results/", {"Authorization": f"Basic {basic}"}),
            (f"{server.url}{API}results/", {"Authorization": f"PluginKey 1:{key}"}),
        ]:
            try:
                urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30).read()
            except urllib.error.HTTPError:
                pass
        server.stop()
    log = (data_dir / "logs" / "torrentlite.log").read_text() + (data_dir / "logs" / "access.log").read_text()
    assert log.count('"GET /rundb/api/v1/results/') >= 6
    assert key not in log and password not in log and basic not in log
    assert "api_key=***" in log


def test_service_install_prints_a_unit_for_this_data_directory(data_dir, tmp_path):
    done = cli("service", "install", "--user", "torrentlite", "--data-dir", data_dir, "--port", "8081")
    assert done.returncode == 0, done.stderr
    assert "User=torrentlite" in done.stdout and f"--data-dir {data_dir}" in done.stdout
    assert "--port 8081" in done.stdout and "KillSignal=SIGTERM" in done.stdout and "KillMode=process" in done.stdout
    out = tmp_path / "torrentlite.service"
    done = cli("service", "install", "--write", "--output", out, "--data-dir", data_dir)
    assert done.returncode == 0 and out.read_text().startswith("[Unit]")
    import shutil
    import subprocess

    if shutil.which("systemd-analyze"):  # where systemd is at hand, it must accept the unit
        verified = subprocess.run(["systemd-analyze", "verify", str(out)], capture_output=True, text=True)
        assert verified.returncode == 0, verified.stderr
    done = cli("service", "install", "--write", "--output", tmp_path / "no" / "such" / "dir", "--data-dir", data_dir)
    assert done.returncode == 2 and "cannot write" in done.stderr and "Traceback" not in done.stderr


def test_check_finds_missing_folders_orphans_and_stale_search_indexes(data_dir):
    import shutil
    import sqlite3

    reports = sorted((data_dir / "results" / "analysis" / "output" / "Home").iterdir())
    shutil.rmtree(reports[0])
    (data_dir / "results" / "analysis" / "output" / "Home" / "Auto_nobody_99").mkdir()
    (data_dir / "plugins" / "LeftBehind").mkdir()
    conn = sqlite3.connect(data_dir / "torrentlite.sqlite3")
    conn.execute('DROP TRIGGER "fts_results_au"')  # a search index that no longer follows its table
    conn.execute('UPDATE results SET "resultsName" = \'renamed_behind_the_index\' WHERE id = 1')
    conn.commit()
    conn.close()
    done = cli("check", "--quiet", "--data-dir", data_dir)
    assert done.returncode == 1, done.stdout
    assert reports[0].name in done.stdout and "Auto_nobody_99" in done.stdout and "LeftBehind" in done.stdout
    assert "search indexes" in done.stdout and "OK " not in done.stdout
    fixed = cli("check", "--rebuild-indexes", "--data-dir", data_dir)
    assert "rebuilt fts_" in fixed.stdout and "search indexes" not in fixed.stdout.split("\n", 1)[1]
    assert fixed.returncode == 0 and "PROBLEM" not in fixed.stdout  # missing and stray folders are warnings
    assert cli("check", "--strict", "--data-dir", data_dir).returncode == 1
