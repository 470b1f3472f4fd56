"""RunLevelScheduler with real subprocesses: states, run-level and depends ordering, LAST, slots, limits."""
from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from test_executor_contract import gone, wait_for
from runplugins import PluginEnv, add_plugin, events, job_rows, scheduler_for
from torrentlite.runner.scheduler import LaunchError, RunLevelScheduler
from torrentlite.runner.states import FAILED_VALIDATION

RESULT = 1          # the demo's non-barcoded run
BARCODED = 2        # the demo's barcoded run (IonXpress_001-004)


@pytest.fixture
def env(app, tmp_path):
    e = PluginEnv(app, tmp_path)
    yield e
    e.sched.stop()


def run(sched: RunLevelScheduler, timeout=30.0):
    assert sched.run_until_idle(timeout=timeout), "jobs did not finish in time"


def state_of(store, pr_id):
    return [r["state"] for r in job_rows(store, pr_id)]


@pytest.mark.parametrize("body,state", [
    ("", "Completed"),
    ("return False", "Completed"),
    ("raise RuntimeError('boom')", "Error"),
    ("sys.exit(3)", "Error"),
    ("os._exit(7)", "Error"),
])
def test_final_state_per_outcome(env, body, state):
    add_plugin(env.store, env.plugins, env.events, "Outcome", body)
    [launched] = env.sched.launch(RESULT, ["Outcome"])
    assert state_of(env.store, launched["pluginresult"]) == ["Queued"]
    run(env.sched)
    [row] = job_rows(env.store, launched["pluginresult"])
    assert row["state"] == state
    assert row["starttime"] and row["endtime"]
    assert set(row["usage"]) >= {"wall_seconds", "cpu_seconds", "peak_rss_bytes"}
    assert row["usage"]["cpu_seconds"] > 0
    log = Path(launched["results_dir"], "drmaa_stdout.txt").read_text()
    if "boom" in body:
        assert "RuntimeError: boom" in log


def test_results_json_becomes_store_and_size_is_recorded(env):
    add_plugin(env.store, env.plugins, env.events, "Store", """
        json.dump({"answer": 42}, open("results.json", "w"))
        open("Store_block.html", "w").write("<p>hi</p>")
    """)
    [launched] = env.sched.launch(RESULT, ["Store"])
    run(env.sched)
    row = env.store.db.execute_sql('SELECT store, size, inodes, apikey FROM "pluginresult" WHERE id = ?',
                                   (launched["pluginresult"],)).fetchone()
    assert json.loads(row[0]) == {"answer": 42}
    assert row[1] > 0 and row[2] >= 5
    assert len(row[3]) == 40 and int(row[3], 16) >= 0


def test_time_limit_gives_timed_out(env):
    env.sched.settings["plugin_wall_limit"] = 1.0
    add_plugin(env.store, env.plugins, env.events, "Slow", "time.sleep(30)")
    [launched] = env.sched.launch(RESULT, ["Slow"])
    t0 = time.monotonic()
    run(env.sched, timeout=20)
    assert time.monotonic() - t0 < 15
    assert state_of(env.store, launched["pluginresult"]) == ["Timed Out"]


def test_nice_lowers_the_plugins_priority(env):
    env.sched.settings["plugin_nice"] = 7
    add_plugin(env.store, env.plugins, env.events, "Niceness", """
        fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
        json.dump({"nice": int(fields[16]), "os_nice": os.nice(0)}, open("results.json", "w"))
    """)
    [launched] = env.sched.launch(RESULT, ["Niceness"])
    run(env.sched)
    assert state_of(env.store, launched["pluginresult"]) == ["Completed"]
    stored = json.loads(env.store.db.execute_sql('SELECT store FROM "pluginresult" WHERE id = ?',
                                                 (launched["pluginresult"],)).fetchone()[0])
    expected = min(19, os.nice(0) + 7)
    assert stored == {"nice": expected, "os_nice": expected}


def test_memory_limit_stops_a_plugin_allocating_past_it(env):
    env.sched.settings["plugin_memory_limit_mb"] = 400
    add_plugin(env.store, env.plugins, env.events, "Modest", "json.dump({'mb': len(bytearray(50 << 20)) >> 20}, "
               "open('results.json', 'w'))")
    add_plugin(env.store, env.plugins, env.events, "Greedy", "json.dump({'mb': len(bytearray(800 << 20)) >> 20}, "
               "open('results.json', 'w'))")
    modest, greedy = env.sched.launch(RESULT, ["Modest", "Greedy"])
    run(env.sched)
    assert state_of(env.store, modest["pluginresult"]) == ["Completed"]
    assert state_of(env.store, greedy["pluginresult"]) == ["Error"]
    assert "MemoryError" in Path(greedy["results_dir"], "drmaa_stdout.txt").read_text()
    # Without the limit the same allocation succeeds: it was the limit that stopped it.
    env.sched.settings["plugin_memory_limit_mb"] = 0
    if psutil.virtual_memory().available > (1200 << 20):
        [again] = env.sched.launch(RESULT, ["Greedy"])
        run(env.sched)
        assert state_of(env.store, again["pluginresult"]) == ["Completed"]


def test_memory_floor_keeps_jobs_queued_until_memory_is_available(env):
    available_mb = psutil.virtual_memory().available / (1 << 20)
    env.sched.settings["plugin_memory_floor_mb"] = available_mb * 4 + 1024
    add_plugin(env.store, env.plugins, env.events, "Patient", "")
    [launched] = env.sched.launch(RESULT, ["Patient"])
    for _ in range(20):
        assert env.sched.tick() == 1
        time.sleep(0.02)
    assert state_of(env.store, launched["pluginresult"]) == ["Queued"]
    assert events(env.events) == []
    env.sched.settings["plugin_memory_floor_mb"] = 0
    run(env.sched)
    assert state_of(env.store, launched["pluginresult"]) == ["Completed"]


def test_cancel_kills_the_tree_while_a_child_runs(env):
    add_plugin(env.store, env.plugins, env.events, "Child", """
        import subprocess
        child = subprocess.Popen(["sleep", "60"])
        open("child.pid", "w").write(str(child.pid))
        child.wait()
    """)
    [launched] = env.sched.launch(RESULT, ["Child"])
    pidfile = Path(launched["results_dir"], "child.pid")
    deadline = time.monotonic() + 15
    while not pidfile.exists() and time.monotonic() < deadline:
        env.sched.tick()
        time.sleep(0.05)
    child = int(pidfile.read_text())
    assert env.sched.cancel(launched["pluginresult"], grace=2.0) == 1
    assert state_of(env.store, launched["pluginresult"]) == ["Cancelled"]
    wait_for(lambda: gone(child))
    env.sched.tick()
    assert state_of(env.store, launched["pluginresult"]) == ["Cancelled"]


def test_run_levels_in_pipeline_order_with_post_folder(env):
    levels = ["last", "post", "default", "pre", "separator"]
    add_plugin(env.store, env.plugins, env.events, "Levels", "time.sleep(0.1)", runlevels=levels)
    [launched] = env.sched.launch(RESULT, ["Levels"])
    run(env.sched)
    seen = [e for e in events(env.events) if e["kind"] == "start"]
    assert [e["level"] for e in seen] == ["pre", "separator", "default", "post", "last"]
    ends = {e["level"]: e["t"] for e in events(env.events) if e["kind"] == "end"}
    for before, after in zip(seen, seen[1:]):
        assert ends[before["level"]] <= after["t"]
    assert state_of(env.store, launched["pluginresult"]) == ["Completed"] * 5
    assert Path(launched["results_dir"], "post", "startplugin.json").is_file()
    assert not Path(launched["results_dir"], "post", "post").exists()


def test_depends_orders_within_a_launch(env):
    add_plugin(env.store, env.plugins, env.events, "Base", "time.sleep(0.5)")
    add_plugin(env.store, env.plugins, env.events, "Dependant", "", depends=["Base"])
    out = env.sched.launch(RESULT, ["Dependant", "Base"])
    run(env.sched)
    ev = {(e["name"], e["kind"]): e["t"] for e in events(env.events)}
    assert ev[("Base", "end")] <= ev[("Dependant", "start")]
    dep = next(o for o in out if o["plugin"] == "Dependant")
    sp = json.loads(Path(dep["results_dir"], "startplugin.json").read_text())
    base = next(o for o in out if o["plugin"] == "Base")
    assert sp["depends"]["Base"]["pluginresult"] == base["pluginresult"]


def test_last_jobs_wait_for_everything_and_run_one_at_a_time(env):
    env.sched.settings["plugin_slots"] = 4
    add_plugin(env.store, env.plugins, env.events, "Early", "time.sleep(0.6)")
    add_plugin(env.store, env.plugins, env.events, "LastA", "time.sleep(0.3)", runlevels=["last"])
    add_plugin(env.store, env.plugins, env.events, "LastB", "time.sleep(0.3)", runlevels=["last"])
    add_plugin(env.store, env.plugins, env.events, "Export", "time.sleep(0.3)", features=["export"])
    env.sched.launch(RESULT, ["LastA", "LastB", "Early", "Export"])
    run(env.sched)
    ev = events(env.events)
    spans = {}
    for e in ev:
        spans.setdefault(e["name"], {})[e["kind"]] = e["t"]
    serial = sorted(("LastA", "LastB", "Export"), key=lambda n: spans[n]["start"])
    for name in serial:
        assert spans[name]["start"] >= spans["Early"]["end"]
    for a, b in zip(serial, serial[1:]):
        assert spans[a]["end"] <= spans[b]["start"]


def test_concurrency_never_above_slots(env):
    env.sched.settings["plugin_slots"] = 2
    for i in range(5):
        add_plugin(env.store, env.plugins, env.events, f"Par{i}", "time.sleep(0.4)")
    env.sched.launch(RESULT, [f"Par{i}" for i in range(5)])
    run(env.sched)
    points = sorted([(e["t"], 1 if e["kind"] == "start" else -1) for e in events(env.events)],
                    key=lambda p: (p[0], p[1]))
    level = peak = 0
    for _t, delta in points:
        level += delta
        peak = max(peak, level)
    assert 1 <= peak <= 2
    # FIFO: the scheduler started the jobs in job-id order.
    started = [r["starttime"] for r in job_rows(env.store)]
    assert started == sorted(started)


def test_requires_configuration_fails_validation_without_a_job(env):
    add_plugin(env.store, env.plugins, env.events, "NeedsConfig", "", requires_configuration=True)
    [launched] = env.sched.launch(RESULT, ["NeedsConfig"])
    assert launched["state"] == FAILED_VALIDATION and launched["jobs"] == []
    assert job_rows(env.store, launched["pluginresult"]) == []
    [launched] = env.sched.launch(RESULT, ["NeedsConfig"], pluginconfig={"x": 1})
    run(env.sched)
    assert state_of(env.store, launched["pluginresult"]) == ["Completed"]


def _with_custom_validation(env, name: str, method: str) -> None:
    add_plugin(env.store, env.plugins, env.events, name, "")
    source = env.plugins / name / f"{name}.py"
    text = source.read_text()
    marker = "    def launch(self, data=None):"
    source.write_text(text.replace(marker, method + "\n" + marker, 1))


def test_custom_validation_runs_in_the_scheduler_before_the_job_starts(env):
    _with_custom_validation(env, "Checked", """
    def custom_validation(self, configuration, run_mode):
        if "threshold" not in configuration:
            return ["threshold is required (run mode %s)" % run_mode]
        return []
""")
    [refused] = env.sched.launch(RESULT, ["Checked"], pluginconfig={"other": 1})
    # Queued at once; the plugin's code runs later, in the scheduler's validation worker.
    assert refused["state"] == "Queued" and refused["jobs"]
    run(env.sched)
    assert state_of(env.store, refused["pluginresult"]) == ["Declined"]
    errors = env.store.db.execute_sql('SELECT validation_errors FROM "pluginresult" WHERE id = ?',
                                      (refused["pluginresult"],)).fetchone()[0]
    assert json.loads(errors) == {"validation_errors": ["threshold is required (run mode manual)"]}
    assert not [e for e in events(env.events) if e["kind"] == "start"]
    [accepted] = env.sched.launch(RESULT, ["Checked"], pluginconfig={"threshold": 3})
    run(env.sched)
    assert state_of(env.store, accepted["pluginresult"]) == ["Completed"]


def test_broken_or_hanging_custom_validation_does_not_block_the_launch(env):
    env.sched.validations.timeout = 1.0
    _with_custom_validation(env, "Crashes", """
    def custom_validation(self, configuration, run_mode):
        raise RuntimeError("bug in the plugin")
""")
    _with_custom_validation(env, "Hangs", """
    def custom_validation(self, configuration, run_mode):
        import time
        time.sleep(600)
""")
    launched = env.sched.launch(RESULT, ["Crashes", "Hangs"], pluginconfig={"a": 1})
    assert all(item["state"] == "Queued" and item["jobs"] for item in launched)
    # Bounded: the hanging validation is given up after its limit, long before this deadline.
    run(env.sched, timeout=60)
    for item in launched:
        assert state_of(env.store, item["pluginresult"]) == ["Completed"]
    assert {e["name"] for e in events(env.events) if e["kind"] == "start"} == {"Crashes", "Hangs"}


def test_an_upgraded_plugin_launches_with_its_new_language_under_a_running_scheduler(env, tmp_path):
    from torrentlite.runner.manager import PluginManager

    manager = PluginManager(env.store, env.app.settings.plugins_path)
    manager.changed.append(env.sched.plugins_changed)
    legacy = tmp_path / "legacy"
    (legacy / "Upgraded").mkdir(parents=True)
    (legacy / "Upgraded" / "launch.sh").write_text("#!/bin/bash\n# VERSION=\"1.0\"\n"
                                                   "echo from-bash > \"$RESULTS_DIR/which.txt\"\n")
    manager.install_dir(legacy / "Upgraded")
    env.sched.start()
    try:
        [first] = env.sched.launch(RESULT, ["Upgraded"])
        _wait_for_state(env, first["pluginresult"], "Completed")
        assert Path(first["results_dir"], "which.txt").read_text().strip() == "from-bash"
        with zipfile.ZipFile(tmp_path / "up.zip", "w") as archive:
            archive.writestr("Upgraded/Upgraded.py", PYTHON_PORT)
        manager.install_zip(tmp_path / "up.zip")
        [second] = env.sched.launch(RESULT, ["Upgraded"])
        _wait_for_state(env, second["pluginresult"], "Completed")
        assert Path(second["results_dir"], "which.txt").read_text().strip() == "from-python"
    finally:
        env.sched.stop()


PYTHON_PORT = """from ion.plugin import *


class Upgraded(IonPlugin):
    version = "2.0"

    def launch(self, data=None):
        open("which.txt", "w").write("from-python")
        return True


if __name__ == "__main__":
    PluginCLI()
"""


def _wait_for_state(env, pr_id, wanted, timeout=30.0):
    deadline = time.monotonic() + timeout
    states = []
    while time.monotonic() < deadline:
        states = state_of(env.store, pr_id)
        if states and all(s not in ("Queued", "Started", "Pending") for s in states):
            break
        time.sleep(0.05)
    assert states == [wanted], states


def test_config_priority_instance_global_plan_file(env):
    add_plugin(env.store, env.plugins, env.events, "Cfg", "", config={"from": "global"})
    (env.plugins / "Cfg" / "pluginconfig.json").write_text('{"from": "file"}')
    [a] = env.sched.launch(RESULT, ["Cfg"], pluginconfig={"from": "instance"})
    [b] = env.sched.launch(RESULT, ["Cfg"])
    run(env.sched)
    got = [json.loads(Path(x["results_dir"], "startplugin.json").read_text())["pluginconfig"] for x in (a, b)]
    assert got == [{"from": "instance"}, {"from": "global"}]
    with env.store.write():
        env.store.db.execute_sql('UPDATE "plugin" SET config = ? WHERE name = ?', ("{}", "Cfg"))
    [c] = env.sched.launch(RESULT, ["Cfg"])
    run(env.sched)
    assert json.loads(Path(c["results_dir"], "startplugin.json").read_text())["pluginconfig"] == {"from": "file"}


def test_rerun_into_the_same_plugin_result(env):
    add_plugin(env.store, env.plugins, env.events, "Again", "")
    [first] = env.sched.launch(RESULT, ["Again"])
    run(env.sched)
    key = env.store.db.execute_sql('SELECT apikey FROM "pluginresult" WHERE id=?', (first["pluginresult"],)).fetchone()
    [second] = env.sched.launch(RESULT, ["Again"], pluginresult=first["pluginresult"])
    run(env.sched)
    assert second["pluginresult"] == first["pluginresult"] and second["results_dir"] == first["results_dir"]
    rows = job_rows(env.store, first["pluginresult"])
    assert [r["state"] for r in rows] == ["Completed", "Completed"]
    assert rows[0]["jobid"] < rows[1]["jobid"]
    assert Path(first["results_dir"], "drmaa_stdout.txt.~1~").is_file()
    assert env.store.db.execute_sql('SELECT apikey FROM "pluginresult" WHERE id=?',
                                    (first["pluginresult"],)).fetchone() == key


def test_unknown_and_disabled_plugins_are_refused(env):
    add_plugin(env.store, env.plugins, env.events, "Off", "", selected=False)
    for ref in ("Nope", "Off", 9999, None):
        with pytest.raises(LaunchError) as info:
            env.sched.launch(RESULT, [ref])
        assert info.value.status == 410
    with pytest.raises(LaunchError) as info:
        env.sched.launch(424242, ["Off"])
    assert info.value.status == 404


def test_job_ids_are_never_reused_across_schedulers(env):
    add_plugin(env.store, env.plugins, env.events, "Ids", "")
    [a] = env.sched.launch(RESULT, ["Ids"])
    run(env.sched)
    assert env.sched.delete(a["pluginresult"])
    other = scheduler_for(env.app)
    [b] = other.launch(RESULT, ["Ids"])
    assert b["jobs"][0] > a["jobs"][0]
    assert not Path(a["results_dir"]).exists()


def test_pipeline_filters_run_types_and_uses_plan_selection(env):
    add_plugin(env.store, env.plugins, env.events, "Whole", "", runtypes=["wholechip"])
    add_plugin(env.store, env.plugins, env.events, "Composite", "", runtypes=["composite"])
    out = env.sched.launch(RESULT, ["Whole", "Composite"], run_mode="pipeline")
    assert [o["plugin"] for o in out] == ["Whole"]
    run(env.sched)
    sp = json.loads(Path(out[0]["results_dir"], "startplugin.json").read_text())
    assert sp["runplugin"]["run_mode"] == "pipeline"


def test_tick_thread_runs_jobs_and_stops(env):
    add_plugin(env.store, env.plugins, env.events, "Threaded", "")
    env.sched.start()
    [launched] = env.sched.launch(RESULT, ["Threaded"])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and state_of(env.store, launched["pluginresult"]) != ["Completed"]:
        time.sleep(0.05)
    assert state_of(env.store, launched["pluginresult"]) == ["Completed"]
    env.sched.stop(timeout=5)
    assert env.sched._thread is None


def test_while_jobs_only_run_the_loop_ticks_a_few_times_a_second(env, monkeypatch):
    from torrentlite.runner import scheduler

    add_plugin(env.store, env.plugins, env.events, "Sleeper", "time.sleep(1.5)")
    ticks = []
    real = env.sched.tick
    monkeypatch.setattr(env.sched, "tick", lambda *a, **k: ticks.append(time.monotonic()) or real(*a, **k))
    env.sched.start()
    launched = [env.sched.launch(RESULT, ["Sleeper"])[0] for _ in range(2)]
    wait_for(lambda: all(state_of(env.store, r["pluginresult"]) == ["Started"] for r in launched))
    before = len(ticks)
    time.sleep(1.0)
    # Every 10 ms this would be about a hundred; every quarter second, four or five.
    assert len(ticks) - before <= 1.0 / scheduler.WATCH_INTERVAL + 3
    wait_for(lambda: all(state_of(env.store, r["pluginresult"]) == ["Completed"] for r in launched))


def test_finished_jobs_are_released_by_the_executor(env):
    add_plugin(env.store, env.plugins, env.events, "Brief", "")
    for _ in range(3):
        env.sched.launch(RESULT, ["Brief"])
    run(env.sched)
    assert env.sched.executor.known() == []
