"""plugin test: a plugin folder runs on the demo reports through the real scheduler, its log streamed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, _copy_data_dir
from torrentlite.cli import main
from torrentlite.runner.scaffold import new_plugin
from torrentlite.store.db import Store

VARIANTS = {"python3": {}, "python2": {"python2": True}, "launch_sh": {"launch_sh": True}}
FLAGS = ["--plugin-memory-floor-mb", "0"]


@pytest.fixture
def data_dir(demo_template, tmp_path) -> Path:
    return _copy_data_dir(demo_template, tmp_path / "data")


def demo_results(data_dir: Path) -> list:
    store = Store(data_dir / "torrentlite.sqlite3")
    try:
        return [row[0] for row in store.db.execute_sql('SELECT id FROM "results" ORDER BY id').fetchall()]
    finally:
        store.close()


def run_test(capsys, folder, data_dir, *args) -> tuple:
    status = main(["plugin", "test", str(folder), "--data-dir", str(data_dir), *FLAGS, *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def store_of(out: str) -> dict:
    line = next(line for line in out.splitlines() if line.startswith("store (results.json): "))
    return json.loads(line.split(": ", 1)[1])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_scaffold_completes_on_every_demo_report(data_dir, tmp_path, capsys, variant):
    folder = new_plugin("Starter", tmp_path, **VARIANTS[variant])
    results = demo_results(data_dir)
    assert len(results) >= 3
    for pk in results:
        status, out, err = run_test(capsys, folder, data_dir, "--result", str(pk))
        assert status == 0, out + err
        assert f"starting on report {pk}" in out  # the plugin's own log line, streamed
        assert "  default    Completed" in out
        store = store_of(out)
        # The plugin's REST call answered: the API served during the test run, with the job's key.
        assert store["greeting"] == "Hello" and store["report_status"] == "Completed"
        assert "  Starter_block.html" in out and "  results.json" in out
        assert "block: http://127.0.0.1:8080/output/Home/" in out and "/Starter_block.html" in out
    plugins = Store(data_dir / "torrentlite.sqlite3")
    try:
        rows = plugins.db.execute_sql('SELECT active, selected, path FROM "plugin" WHERE name = ?',
                                      ("Starter",)).fetchall()
    finally:
        plugins.close()
    assert rows == [(0, 0, str(folder.resolve()))]  # one row for every test run, never active
    assert not (data_dir / "plugins" / "Starter").exists()


def test_config_and_level_reach_the_plugin(data_dir, tmp_path, capsys):
    folder = new_plugin("Configured", tmp_path)
    status, out, _ = run_test(capsys, folder, data_dir, "--result", "2", "--level", "default",
                              "--config", '{"greeting": "Bonjour"}')
    assert status == 0 and store_of(out)["greeting"] == "Bonjour"
    assert store_of(out)["barcodes"] == 4  # the barcoded demo run's barcodes.json
    status, out, _ = run_test(capsys, folder, data_dir, "--result", "1", "--level", "block")
    assert status == 1 and "nothing to run" in out  # the demo reports have no blocks
    with pytest.raises(SystemExit) as usage:
        run_test(capsys, folder, data_dir, "--result", "1", "--level", "sometimes")
    assert usage.value.code == 2
    assert run_test(capsys, folder, data_dir, "--result", "1", "--config", "[1]")[0] == 2
    assert run_test(capsys, folder, data_dir, "--result", "999")[0] == 2


def test_a_failing_plugin_shows_its_traceback_and_error(data_dir, tmp_path, capsys):
    folder = new_plugin("Broken", tmp_path)
    source = (folder / "Broken.py").read_text()
    (folder / "Broken.py").write_text(source.replace('runinfo = self.startplugin["runinfo"]',
                                                     'raise RuntimeError("deliberately broken")'))
    status, out, _ = run_test(capsys, folder, data_dir, "--result", "1")
    assert status == 1
    assert "RuntimeError: deliberately broken" in out
    assert "  default    Error" in out


def test_a_plugin_running_past_the_timeout_is_stopped(data_dir, tmp_path, capsys):
    folder = new_plugin("Slow", tmp_path)
    source = (folder / "Slow.py").read_text()
    (folder / "Slow.py").write_text(source.replace('runinfo = self.startplugin["runinfo"]',
                                                   'import time; time.sleep(120)'))
    status, out, _ = run_test(capsys, folder, data_dir, "--result", "1", "--timeout", "2")
    assert status == 1
    assert "stopped: it ran longer than --timeout" in out and "  default    Cancelled" in out


def test_what_the_installer_refuses_is_not_run_and_other_problems_are_shown(data_dir, tmp_path, capsys):
    folder = new_plugin("Unfit", tmp_path)
    (folder / "pluginMedia" / "Unfit.js").unlink()
    status, out, _ = run_test(capsys, folder, data_dir, "--result", "1")
    assert status == 0 and "check: config.html:" in out and "pluginMedia/Unfit.js" in out
    source = (folder / "Unfit.py").read_text()
    (folder / "Unfit.py").write_text(source.replace('version = "0.1.0"', 'version = "one"'))
    status, out, err = run_test(capsys, folder, data_dir, "--result", "1")
    assert status == 1 and "invalid version 'one'" in err and "plugin result" not in out
    assert run_test(capsys, tmp_path / "nowhere", data_dir, "--result", "1")[0] == 2


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _read_until(proc, text: str, timeout: float = 60) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} not printed: {''.join(seen)[-2000:]}")


def test_watch_reruns_when_the_folder_changes(data_dir, tmp_path):
    folder = new_plugin("Watched", tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "torrentlite", "plugin", "test", str(folder), "--result", "1",
                             "--watch", "--runs", "2", "--interval", "0.1", "--data-dir", str(data_dir), *FLAGS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        first = _read_until(proc, "watching")
        assert '"greeting": "Hello"' in first
        (folder / "pluginconfig.json").write_text('{"greeting": "Changed"}')
        second = _read_until(proc, "block: ")
        assert "plugin result" in second
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The second run read the changed folder (the plugin's default configuration).
    assert '"greeting": "Changed"' in second


def test_ctrl_c_stops_the_plugin_too(data_dir, tmp_path):
    folder = new_plugin("Interrupted", tmp_path)
    source = (folder / "Interrupted.py").read_text()
    (folder / "Interrupted.py").write_text(source.replace('runinfo = self.startplugin["runinfo"]',
                                                         'import time; time.sleep(120)'))
    proc = subprocess.Popen([sys.executable, "-m", "torrentlite", "plugin", "test", str(folder), "--result", "1",
                             "--data-dir", str(data_dir), *FLAGS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    try:
        _read_until(proc, "Launching Interrupted")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    store = Store(data_dir / "torrentlite.sqlite3")
    try:
        states = [row[0] for row in store.db.execute_sql('SELECT state FROM "PluginResultJob"').fetchall()]
    finally:
        store.close()
    assert states == ["Cancelled"]


def test_beside_a_running_server_the_server_runs_the_job(live_server, tmp_path):
    folder = new_plugin("Queued", tmp_path)
    proc = subprocess.run([sys.executable, "-m", "torrentlite", "plugin", "test", str(folder), "--result", "1",
                           "--timeout", "120", "--data-dir", str(live_server.data_dir)],
                          capture_output=True, text=True, env=_env(), timeout=180)
    assert "queued for it" in proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "starting on report 1" in proc.stdout and "  default    Completed" in proc.stdout
    assert store_of(proc.stdout)["report_status"] == "Completed"  # the server's API answered the plugin
