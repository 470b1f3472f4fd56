"""A Grid Engine qmaster that stops mid-run: Error rows with a reason, jobs that end meanwhile still count,
and plugin jobs run again once it is back. Slow (stopping and starting a qmaster takes 20-30 s)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, _copy_data_dir, free_port, make_settings
from gridengine_gate import need_gridengine
from runplugins import add_plugin, job_rows
from torrentlite.app import build_app

pytestmark = pytest.mark.slow
RESULT = 1


def qmaster_answers() -> bool:
    return subprocess.run(["qping", "-info", "localhost", "6444", "qmaster", "1"],
                          capture_output=True).returncode == 0


def stop_qmaster() -> None:
    """Shut the qmaster down (execution daemons and their jobs go on), as an operator or a crash would."""
    subprocess.run(["qconf", "-km"], capture_output=True, timeout=60)
    deadline = time.monotonic() + 60
    while qmaster_answers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not qmaster_answers()


def start_grid_engine() -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "gridengine_localhost.sh")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)


@pytest.fixture
def gapp(demo_template, tmp_path):
    need_gridengine()
    data_dir = _copy_data_dir(demo_template, tmp_path / "data")
    app = build_app(make_settings(data_dir, executor="drmaa", plugin_slots=4, plugin_memory_floor_mb=0,
                                  drmaa_lost_after=4))
    app.plugins, app.events = tmp_path / "plugins", tmp_path / "events"
    yield app
    if not qmaster_answers():
        start_grid_engine()
    # Leave no job of this test behind in Grid Engine, whatever happened.
    jobs = [str(r["jobid"]) for r in job_rows(app.store) if r["state"] != "Queued"]
    subprocess.run(["qdel", "-f", *jobs], capture_output=True)
    app.close()


def states(app, pr_id):
    return [r["state"] for r in job_rows(app.store, pr_id)]


def tick_until(app, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.scheduler.tick()
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_qmaster_gone_mid_run_and_back(gapp, tmp_path):
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Finisher",
               "while not os.path.exists('go'): time.sleep(0.1)")
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Lingerer", "time.sleep(40)")
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Late", "")
    finisher, lingerer = gapp.scheduler.launch(RESULT, ["Finisher", "Lingerer"])
    tick_until(gapp, lambda: all(Path(x["results_dir"], ".torrentlite").is_dir() for x in (finisher, lingerer)), 30)
    lingering_job = job_rows(gapp.store, lingerer["pluginresult"])[0]["jobid"]

    stop_qmaster()
    Path(finisher["results_dir"], "go").touch()
    [late] = gapp.scheduler.launch(RESULT, ["Late"])
    tick_until(gapp, lambda: "Started" not in states(gapp, finisher["pluginresult"]) + states(
        gapp, lingerer["pluginresult"]) and states(gapp, late["pluginresult"]) == ["Error"], 90)
    # The job that ended during the outage is read from its exit file; the one still running is given up.
    assert states(gapp, finisher["pluginresult"]) == ["Completed"]
    [lost] = job_rows(gapp.store, lingerer["pluginresult"])
    assert lost["state"] == "Error" and lost["reason"].startswith("lost contact with Grid Engine for ")
    [refused] = job_rows(gapp.store, late["pluginresult"])
    assert refused["reason"].startswith("submission failed: cannot reach the Grid Engine qmaster")

    # A server started now refuses, naming what is missing.
    done = subprocess.run([sys.executable, "-m", "torrentlite", "serve", "--data-dir", str(tmp_path / "other"),
                           "--executor", "drmaa", "--port", str(free_port())], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(
        "torrentlite: cannot run plugin jobs with executor drmaa: cannot reach the Grid Engine qmaster (")
    assert "is sge_qmaster running?" in done.stderr and "Traceback" not in done.stderr

    start_grid_engine()
    subprocess.run(["qdel", str(lingering_job)], capture_output=True)
    [again] = gapp.scheduler.launch(RESULT, ["Late"])
    assert gapp.scheduler.run_until_idle(timeout=60, interval=0.1)
    assert states(gapp, again["pluginresult"]) == ["Completed"]
