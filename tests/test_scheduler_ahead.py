"""Files written ahead while every slot is busy: a job cancelled meanwhile never starts, changed inputs are
written again."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from runplugins import PluginEnv, add_plugin, job_rows
from test_executor_contract import wait_for

RESULT = 1


@pytest.fixture
def env(app, tmp_path):
    e = PluginEnv(app, tmp_path, plugin_slots=1)
    yield e
    e.sched.stop()


def _busy_then_queued(env):
    """One slot held by a long job, and a second job waiting with its files written ahead."""
    add_plugin(env.store, env.plugins, env.events, "Long", "time.sleep(60)")
    add_plugin(env.store, env.plugins, env.events, "Next", "")
    [long_run] = env.sched.launch(RESULT, ["Long"])
    [waiting] = env.sched.launch(RESULT, ["Next"])
    script = Path(waiting["results_dir"], "ion_plugin_Next_launch.sh")

    def ready():
        env.sched.tick()
        return job_rows(env.store, long_run["pluginresult"])[0]["state"] == "Started" and script.exists()
    wait_for(ready)
    assert [r["state"] for r in job_rows(env.store, waiting["pluginresult"])] == ["Queued"]
    return long_run, waiting


def _finish_long(env, long_run):
    env.sched.cancel(long_run["pluginresult"], grace=1.0)
    assert env.sched.run_until_idle(timeout=30)


def test_a_job_cancelled_while_its_files_were_ready_never_starts_and_its_files_are_whole(env):
    long_run, waiting = _busy_then_queued(env)
    folder = Path(waiting["results_dir"])
    assert env.sched.cancel(waiting["pluginresult"]) == 1
    _finish_long(env, long_run)
    [row] = job_rows(env.store, waiting["pluginresult"])
    assert (row["state"], row["starttime"], row["reason"]) == ("Cancelled", None, "cancelled before it started")
    assert not (folder / ".torrentlite").exists()          # the launch script never ran
    assert not (folder / "drmaa_stdout.txt").exists()      # nor was it handed to the executor
    assert json.loads((folder / "startplugin.json").read_text())["runinfo"]["pluginresult"] == \
        waiting["pluginresult"]
    assert (folder / "ion_plugin_Next_launch.sh").read_text().endswith("exit $RETVAL\n")
    assert not list(folder.glob("*.tmp"))


def test_files_written_ahead_are_written_again_when_the_database_changed_meanwhile(env):
    long_run, waiting = _busy_then_queued(env)
    folder = Path(waiting["results_dir"])
    before = json.loads((folder / "startplugin.json").read_text())["expmeta"]["results_name"]

    def rename():      # another connection, as an API request would be
        with env.store.write():
            env.store.db.execute_sql('UPDATE "results" SET "resultsName" = ? WHERE id = ?', (before + "_renamed",
                                                                                               RESULT))
    writer = threading.Thread(target=rename)
    writer.start()
    writer.join()
    _finish_long(env, long_run)
    [row] = job_rows(env.store, waiting["pluginresult"])
    assert row["state"] == "Completed"
    assert json.loads((folder / "startplugin.json").read_text())["expmeta"]["results_name"] == before + "_renamed"


def test_files_written_ahead_are_used_when_nothing_changed(env):
    long_run, waiting = _busy_then_queued(env)
    folder = Path(waiting["results_dir"])
    written = (folder / "startplugin.json").stat().st_mtime_ns
    time.sleep(0.05)
    _finish_long(env, long_run)
    assert [r["state"] for r in job_rows(env.store, waiting["pluginresult"])] == ["Completed"]
    assert (folder / "startplugin.json").stat().st_mtime_ns == written


def _results_name(env, run) -> str:
    return json.loads(Path(run["results_dir"], "startplugin.json").read_text())["expmeta"]["results_name"]


def _rename(env, name: str) -> None:
    with env.store.write():
        env.store.db.execute_sql('UPDATE "results" SET "resultsName" = ? WHERE id = ?', (name, RESULT))


def _run_one(env, name: str, in_loop: bool):
    [run] = env.sched.launch(RESULT, [name])
    if in_loop:
        wait_for(lambda: job_rows(env.store, run["pluginresult"])[0]["state"] == "Completed")
    else:
        assert env.sched.run_until_idle(timeout=30)
    return run


@pytest.mark.parametrize("in_loop", [True, False])
def test_a_report_kept_between_ticks_is_read_again_after_any_change(env, in_loop):
    add_plugin(env.store, env.plugins, env.events, "Quick", "")
    if in_loop:
        env.sched.start()
    first = _run_one(env, "Quick", in_loop)
    name = _results_name(env, first)
    if in_loop:
        # Another connection, as an API request would be.
        writer = threading.Thread(target=_rename, args=(env, name + "_a"))
        writer.start()
        writer.join()
    else:
        _rename(env, name + "_a")       # the connection the ticks themselves use
    assert _results_name(env, _run_one(env, "Quick", in_loop)) == name + "_a"


def test_reports_are_kept_between_ticks_of_the_scheduler_thread_while_nothing_changed(env):
    from torrentlite.runner import scheduler

    sched = env.sched
    sched._thread = threading.current_thread()     # these ticks count as the scheduler thread's own
    try:
        sched._keep_reports()
        sched._reports["kept"] = True
        sched._keep_reports()
        assert "kept" in sched._reports
        writer = threading.Thread(target=_rename, args=(env, "renamed elsewhere"))
        writer.start()
        writer.join()
        sched._keep_reports()
        assert "kept" not in sched._reports
        sched._reports["kept"] = True
        time.sleep(scheduler.REPORTS_KEPT + 0.05)
        sched._keep_reports()
        assert "kept" not in sched._reports        # they hold what was read from the report folder too
    finally:
        sched._thread = None
    sched._reports["kept"] = True
    sched._keep_reports()
    assert "kept" not in sched._reports            # any other thread reads them each tick
