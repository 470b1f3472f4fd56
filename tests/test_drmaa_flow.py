"""The plugin flow again with executor=drmaa, on a real Grid Engine: states, ordering, stop, limits, restart."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, Client, _copy_data_dir, admin_headers, free_port, make_settings, wait_until_responds
from gridengine_gate import need_gridengine
from runplugins import add_plugin, events, job_rows
from torrentlite.app import build_app

RESULT = 1
API = "/rundb/api/v1"


@pytest.fixture(autouse=True)
def _grid_engine():
    need_gridengine()


@pytest.fixture
def gapp(demo_template, tmp_path):
    """A demo app whose plugin jobs go to Grid Engine, with a client and folders for test plugins."""
    data_dir = _copy_data_dir(demo_template, tmp_path / "data")
    app = build_app(make_settings(data_dir, executor="drmaa", plugin_slots=4, plugin_memory_floor_mb=0))
    app.client = Client(app, admin_headers(app))
    app.plugins, app.events = tmp_path / "plugins", tmp_path / "events"
    yield app
    app.scheduler.stop()
    app.close()


def drain(app, timeout=60.0):
    assert app.scheduler.run_until_idle(timeout=timeout, interval=0.1), "jobs did not finish in time"


def qstat_knows(ge_id) -> bool:
    return subprocess.run(["qstat", "-j", str(ge_id)], capture_output=True).returncode == 0


def tick_until(app, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.scheduler.tick()
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_outcomes_job_numbers_and_usage(gapp):
    gapp.settings.update(drmaa_queue="all.q", drmaa_slots=2)   # -q all.q -pe smp 2
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Fine",
               'open("job_id", "w").write(os.environ["JOB_ID"] + " " + os.environ["NSLOTS"])')
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Broken", "raise RuntimeError('boom')")
    out = {o["plugin"]: o for o in gapp.scheduler.launch(RESULT, ["Fine", "Broken"])}
    assert [r["state"] for r in job_rows(gapp.store)] == ["Queued", "Queued"]
    drain(gapp)
    fine = job_rows(gapp.store, out["Fine"]["pluginresult"])[0]
    broken = job_rows(gapp.store, out["Broken"]["pluginresult"])[0]
    assert (fine["state"], broken["state"]) == ("Completed", "Error")
    assert "exit status 1" in broken["reason"]
    # The row carries Grid Engine's job number, which the job saw as JOB_ID.
    assert Path(out["Fine"]["results_dir"], "job_id").read_text() == f"{fine['jobid']} 2"
    executor, meta, external = gapp.store.db.execute_sql(
        'SELECT executor, executor_meta, external_id FROM "PluginResultJob" WHERE grid_engine_jobid = ?',
        (fine["jobid"],)).fetchone()
    assert (executor, external) == ("drmaa", f"drmaa-{fine['jobid']}")
    assert json.loads(meta)["executor"]["grid_engine_jobid"] == fine["jobid"]
    assert fine["usage"]["wall_seconds"] > 0 and fine["usage"]["cpu_seconds"] > 0
    assert "RuntimeError: boom" in Path(out["Broken"]["results_dir"], "drmaa_stdout.txt").read_text()


def test_run_levels_depends_and_last_keep_their_order(gapp):
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Levels", "time.sleep(0.2)",
               runlevels=["last", "post", "default", "pre"])
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Base", "time.sleep(1.0)")
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Dependant", "", depends=["Base"])
    add_plugin(gapp.store, gapp.plugins, gapp.events, "LastA", "time.sleep(0.3)", runlevels=["last"])
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Export", "time.sleep(0.3)", features=["export"])
    gapp.scheduler.launch(RESULT, ["LastA", "Export", "Dependant", "Levels", "Base"])
    drain(gapp, timeout=120)
    assert {r["state"] for r in job_rows(gapp.store)} == {"Completed"}
    spans = {}
    for e in events(gapp.events):
        spans.setdefault((e["name"], e["level"]), {})[e["kind"]] = e["t"]
    levels = [spans[("Levels", lvl)] for lvl in ("pre", "default", "post", "last")]
    for before, after in zip(levels, levels[1:]):
        assert before["end"] <= after["start"]
    assert spans[("Base", "default")]["end"] <= spans[("Dependant", "default")]["start"]
    # LAST jobs wait for everything; the export plugin for everything queued before it (not the POST level).
    last = [spans[("LastA", "last")], spans[("Levels", "last")]]
    export = spans[("Export", "default")]
    for key, span in spans.items():
        if key[1] != "last" and key != ("Export", "default"):
            assert all(span["end"] <= s["start"] for s in last)
            if key[1] in ("pre", "default"):
                assert span["end"] <= export["start"]
    serial = sorted(last + [export], key=lambda s: s["start"])
    for a, b in zip(serial, serial[1:]):
        assert a["end"] <= b["start"]


def test_stop_through_the_api_and_wall_limit(gapp):
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Long", "time.sleep(120)")
    assert gapp.client.post(f"{API}/results/{RESULT}/plugin/", json_body={"plugin": "Long"}).status == 202

    def started():
        [entry] = gapp.client.get(f"{API}/results/{RESULT}/pluginresults/").json()
        return entry if entry["State"] == "Started" and Path(entry["Path"], ".torrentlite").is_dir() else None
    entry = tick_until(gapp, started)
    [row] = job_rows(gapp.store, entry["id"])
    assert qstat_knows(row["jobid"])
    assert gapp.client.get(f"{API}/pluginresult/{entry['id']}/stop/").status == 204
    [entry] = gapp.client.get(f"{API}/results/{RESULT}/pluginresults/").json()
    assert entry["State"] == "Cancelled" and not entry["can_terminate"]
    assert not qstat_knows(row["jobid"])

    gapp.scheduler.settings["plugin_wall_limit"] = 1.0
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Slow", "time.sleep(60)")
    [slow] = gapp.scheduler.launch(RESULT, ["Slow"])
    drain(gapp, timeout=40)
    [row] = job_rows(gapp.store, slow["pluginresult"])
    assert row["state"] == "Timed Out"


def test_a_completed_report_runs_its_plugins_on_grid_engine(gapp):
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Chosen", "")
    row = gapp.store.db.execute_sql('SELECT eas_id FROM "results" WHERE id = ?', (RESULT,)).fetchone()
    with gapp.store.write():
        gapp.store.db.execute_sql('UPDATE "experimentanalysissettings" SET "selectedPlugins" = ? WHERE id = ?',
                                  (json.dumps({"Chosen": {"name": "Chosen", "userInput": {}}}), row[0]))
    assert gapp.client.patch(f"{API}/results/{RESULT}/", json_body={"status": "Started"}).status == 202
    assert gapp.client.patch(f"{API}/results/{RESULT}/", json_body={"status": "Completed"}).status == 202
    drain(gapp)
    listing = gapp.client.get(f"{API}/results/{RESULT}/pluginresults/").json()
    assert [(e["Name"], e["State"]) for e in listing] == [("Chosen", "Completed")]
    [job] = listing[0]["plugin_result_jobs"]
    assert job["grid_engine_jobid"] == job_rows(gapp.store)[0]["jobid"]


def test_sgejobs_counts_come_from_grid_engine(gapp):
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Held", "time.sleep(60)")
    [held] = gapp.scheduler.launch(RESULT, ["Held"])
    tick_until(gapp, lambda: Path(held["results_dir"], ".torrentlite").is_dir())
    counts = gapp.client.get(f"{API}/torrentsuite/sgejobs/").json()
    assert set(counts) >= {"total_jobs", "analysis_jobs", "plugin_jobs", "pending_jobs"}
    assert counts["plugin_jobs"] >= 1 and counts["total_jobs"] >= counts["plugin_jobs"]
    assert sum(q["running"] for q in counts["queues"].values()) >= 1
    gapp.scheduler.cancel(held["pluginresult"])


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--port", str(port), "--data-dir",
                             str(data_dir), "--executor", "drmaa", "--plugin-memory-floor-mb", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def test_restart_while_a_job_runs_on_grid_engine(demo_template, tmp_path):
    data_dir = _copy_data_dir(demo_template, tmp_path / "data")
    app = build_app(make_settings(data_dir))
    body = """
        while not os.path.exists("go"):
            time.sleep(0.1)
        open("done", "w").write("yes")
    """
    add_plugin(app.store, tmp_path / "plugins", tmp_path / "events", "Patient", body)
    add_plugin(app.store, tmp_path / "plugins", tmp_path / "events", "Forgotten", "time.sleep(60)")
    headers = admin_headers(app)
    app.close()
    port = free_port()
    api = f"http://127.0.0.1:{port}{API}"
    procs = [_serve(data_dir, port)]
    try:
        wait_until_responds(f"{api}/", proc=procs[0])
        for name in ("Patient", "Forgotten"):
            req = urllib.request.Request(f"{api}/results/{RESULT}/plugin/", method="POST", headers={
                **headers, "Content-Type": "application/json"}, data=json.dumps({"plugin": name}).encode())
            assert urllib.request.urlopen(req, timeout=30).status == 202

        def listing():
            req = urllib.request.Request(f"{api}/results/{RESULT}/pluginresults/", headers=headers)
            with urllib.request.urlopen(req, timeout=30) as resp:
                return {e["Name"]: e for e in json.load(resp)}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = listing()
            if all(Path(now[n]["Path"], ".torrentlite").is_dir() for n in now) and len(now) == 2:
                break
            time.sleep(0.2)
        jobs = {n: now[n]["plugin_result_jobs"][0]["grid_engine_jobid"] for n in now}
        assert all(qstat_knows(j) for j in jobs.values())
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        # While the server is down: one job is deleted from Grid Engine, the other goes on.
        subprocess.run(["qdel", str(jobs["Forgotten"])], check=True, capture_output=True)
        deadline = time.monotonic() + 30
        while qstat_knows(jobs["Forgotten"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        procs.append(_serve(data_dir, port))
        wait_until_responds(f"{api}/", proc=procs[1])
        assert listing()["Patient"]["State"] == "Started"
        Path(now["Patient"]["Path"], "go").touch()
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            after = listing()
            if after["Patient"]["State"] != "Started" and after["Forgotten"]["State"] != "Started":
                break
            time.sleep(0.2)
        assert after["Patient"]["State"] == "Completed"
        assert Path(after["Patient"]["Path"], "done").read_text() == "yes"
        assert after["Forgotten"]["State"] == "Error"
        with sqlite3.connect(data_dir / "torrentlite.sqlite3") as db:
            [reason] = db.execute('SELECT reason FROM "PluginResultJob" WHERE grid_engine_jobid = ?',
                                  (jobs["Forgotten"],)).fetchone()
        assert f"Grid Engine no longer knows job {jobs['Forgotten']}" in reason
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)


def test_plugin_stop_from_the_command_line(gapp):
    add_plugin(gapp.store, gapp.plugins, gapp.events, "Long", "time.sleep(120)")
    [long] = gapp.scheduler.launch(RESULT, ["Long"])
    tick_until(gapp, lambda: Path(long["results_dir"], ".torrentlite").is_dir())
    [row] = job_rows(gapp.store, long["pluginresult"])
    assert qstat_knows(row["jobid"])
    # Without the glibc tunable in its environment: the command restarts itself with it.
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-m", "torrentlite", "plugin", "stop", str(long["pluginresult"]),
                           "--data-dir", gapp.settings["data_dir"], "--executor", "drmaa"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 job(s) cancelled" in done.stdout
    assert [r["state"] for r in job_rows(gapp.store, long["pluginresult"])] == ["Cancelled"]
    assert not qstat_knows(row["jobid"])
