"""One contract suite for every executor: real launch scripts, real subprocesses."""
import itertools
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from gridengine_gate import need_gridengine
from torrentlite.runner.drmaa import DrmaaExecutor
from torrentlite.runner.executor import VANISHED, InlineExecutor, JobSpec, Limits, UnknownJob
from torrentlite.runner.launchscript import launch_args, render_launch_script, write_startplugin
from torrentlite.runner.local import LocalExecutor
from torrentlite.runner.outcome import JOB_TOKEN_ENV, exit_path
from torrentlite.runner.states import ACTIVE, JobState

# Adding an executor is one line here. "drmaa" runs on a real Grid Engine (see gridengine_gate).
EXECUTORS = {
    "inline": lambda: InlineExecutor(timeout_kill_after=2.0),
    "local": lambda: LocalExecutor(timeout_kill_after=2.0),
    "drmaa": lambda: DrmaaExecutor(timeout_kill_after=2.0),
}
# Executors whose submit() returns while the job is still running.
ASYNC = {"local", "drmaa"}

_ids = itertools.count(int(time.time() * 1000) % 10**9)


@pytest.fixture(params=sorted(EXECUTORS))
def kind(request):
    if request.param == "drmaa":
        need_gridengine()
    return request.param


@pytest.fixture
def executor(kind):
    ex = EXECUTORS[kind]()
    yield ex
    ex.close()


def needs_async(kind):
    if kind not in ASYNC:
        pytest.skip(f"{kind} executor runs each job to its end inside submit(): there is no running job")


def make_job(tmp_path, body, limits=None, env=None, name="Probe"):
    """A real launch script for a bash plugin whose launch.sh is ``body``."""
    results = tmp_path / f"{name}_out"
    results.mkdir(exist_ok=True)
    startplugin = {"runinfo": {"results_dir": str(results), "plugin_name": name},
                   "pluginconfig": {}}
    write_startplugin(results, startplugin)
    script = render_launch_script(plugin_name=name, plugin_dir=tmp_path, results_dir=results,
                                  startplugin=startplugin, entry="bash",
                                  launch_sh_text="#!/bin/bash\nVERSION=\"1.0\"\n" + body + "\n")
    return JobSpec(job_id=next(_ids), name=name, script=script, args=launch_args(results), workdir=results,
                   env=dict(env or {}), limits=limits or Limits(nice=0))


def wait_for(predicate, timeout=15.0, interval=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def run_to_end(ex, external_id, timeout=20.0):
    status = wait_for(lambda: (lambda s: s if s.finished else None)(ex.poll(external_id)), timeout)
    assert status.state.is_terminal
    return status


def log_text(job):
    return job.log_path.read_text(errors="replace")


def gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_completes(executor, tmp_path):
    job = make_job(tmp_path, "echo hello from the plugin")
    status = run_to_end(executor, executor.submit(job))
    assert (status.state, status.exit_code) == (JobState.COMPLETED, 0)
    assert "hello from the plugin" in log_text(job)
    assert exit_path(job.workdir, job.job_id).exists()


def test_finished_status_is_stable_and_cancel_is_a_no_op(executor, tmp_path):
    job = make_job(tmp_path, "true")
    eid = executor.submit(job)
    first = run_to_end(executor, eid)
    executor.cancel(eid, grace=0.1)
    assert executor.poll(eid) == first


def test_nonzero_exit_is_error_with_code(executor, tmp_path):
    job = make_job(tmp_path, "echo failing; exit 3")
    status = run_to_end(executor, executor.submit(job))
    assert (status.state, status.exit_code) == (JobState.ERROR, 3)
    assert "3" in status.reason
    assert "Plugin Execution Error" in log_text(job)


def test_bash_syntax_error_is_error(executor, tmp_path):
    job = make_job(tmp_path, 'echo "never closed')
    status = run_to_end(executor, executor.submit(job))
    assert status.state is JobState.ERROR
    assert status.exit_code == 2
    assert "syntax" in status.reason


def test_killed_by_signal_is_error(executor, tmp_path):
    # $$ is the launch script itself: it dies before it can record anything.
    job = make_job(tmp_path, "kill -KILL $$; sleep 5")
    status = run_to_end(executor, executor.submit(job))
    assert (status.state, status.exit_code) == (JobState.ERROR, 128 + signal.SIGKILL)
    assert "SIGKILL" in status.reason


def test_wall_limit_gives_timed_out(executor, tmp_path):
    job = make_job(tmp_path, "sleep 30", limits=Limits(wall_seconds=1.0, nice=0))
    started = time.monotonic()
    status = run_to_end(executor, executor.submit(job))
    assert status.state is JobState.TIMED_OUT
    assert time.monotonic() - started < 10
    assert "Timed Out" in log_text(job)


def test_wall_limit_when_the_plugin_ignores_usr1(executor, tmp_path):
    job = make_job(tmp_path, "trap '' USR1; sleep 30", limits=Limits(wall_seconds=0.5, nice=0))
    status = run_to_end(executor, executor.submit(job))
    assert status.state is JobState.TIMED_OUT


def test_memory_limit_is_error(executor, tmp_path):
    body = 'python3 -c "b = bytearray(2 * 1024 ** 3); print(len(b))"'
    job = make_job(tmp_path, body, limits=Limits(memory_bytes=400 * 1024 ** 2, nice=0))
    status = run_to_end(executor, executor.submit(job))
    assert status.state is JobState.ERROR
    assert "MemoryError" in log_text(job)


def test_cancel_kills_the_whole_tree(kind, executor, tmp_path):
    needs_async(kind)
    body = "\n".join([
        "setsid bash -c 'echo $$ > setsid_child.pid; exec sleep 300' &",
        # The subshell exits at once, so this grandchild is re-parented away from the job's tree.
        "( setsid bash -c 'echo $$ > orphan.pid; exec sleep 301' & )",
        "sleep 302 & echo $! > child.pid",
        "wait",
    ])
    job = make_job(tmp_path, body)
    eid = executor.submit(job)
    names = ("setsid_child.pid", "orphan.pid", "child.pid")
    wait_for(lambda: all((job.workdir / n).exists() and (job.workdir / n).read_text().strip() for n in names))
    assert executor.poll(eid).state is JobState.STARTED
    pids = [int((job.workdir / n).read_text()) for n in names]
    token = executor.describe(eid)["token"]
    executor.cancel(eid, grace=1.0)
    status = executor.poll(eid)
    assert status.state is JobState.CANCELLED
    assert all(gone(pid) for pid in pids)
    for proc in psutil.process_iter():
        try:
            assert proc.environ().get(JOB_TOKEN_ENV) != token or proc.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            pass


def test_log_is_rotated(executor, tmp_path):
    job = make_job(tmp_path, "echo second run")
    job.log_path.write_text("first run\n")
    (job.log_path.parent / "drmaa_stdout.txt.~1~").write_text("zeroth run\n")
    run_to_end(executor, executor.submit(job))
    assert (job.log_path.parent / "drmaa_stdout.txt.~2~").read_text() == "first run\n"
    assert "first run" not in log_text(job)
    assert "second run" in log_text(job)


def test_environment_is_clean_and_complete(executor, tmp_path, monkeypatch):
    monkeypatch.setenv("TORRENTLITE_SERVER_SECRET", "must-not-leak")
    job = make_job(tmp_path, 'env > env.txt; [ -d "$TMPDIR" ] && [ -w "$TMPDIR" ] && echo tmp-ok > tmp.txt',
                   env={"API_KEY_FOR_TEST": "k1"})
    eid = executor.submit(job)
    run_to_end(executor, eid)
    env = dict(line.split("=", 1) for line in (job.workdir / "env.txt").read_text().splitlines() if "=" in line)
    # JOB_ID is the number stored as PluginResultJob.grid_engine_jobid: Grid Engine's own on a cluster.
    assert env["JOB_ID"] == str(executor.describe(eid).get("grid_engine_jobid", job.job_id))
    assert env["JOB_NAME"] == job.name
    assert env["NSLOTS"] == "1"
    assert env["HOSTNAME"]
    assert env["API_KEY_FOR_TEST"] == "k1"
    assert env["PATH"] and env["HOME"] and env["LANG"]
    assert "TORRENTLITE_SERVER_SECRET" not in env
    assert (job.workdir / "tmp.txt").read_text().strip() == "tmp-ok"
    assert not Path(env["TMPDIR"]).exists()  # the per-job temp dir is removed afterwards


def test_usage_is_recorded(executor, tmp_path):
    job = make_job(tmp_path, 'python3 -c "x = bytearray(30 * 1024 ** 2); sum(i * i for i in range(400000))"')
    status = run_to_end(executor, executor.submit(job))
    assert status.state is JobState.COMPLETED
    assert status.usage.wall_seconds > 0
    assert status.usage.cpu_seconds > 0
    assert status.usage.peak_rss_bytes > 30 * 1024 ** 2


def test_unknown_id(executor):
    with pytest.raises(UnknownJob):
        executor.poll("no-such-job")


def test_recover_reattaches_a_running_job(kind, tmp_path):
    needs_async(kind)
    job = make_job(tmp_path, "while [ ! -f go ]; do sleep 0.05; done; echo released")
    first = EXECUTORS[kind]()
    eid = first.submit(job)
    wait_for(lambda: first.poll(eid).state is JobState.STARTED)
    meta = first.describe(eid)
    first.close()  # the server goes away; the job keeps running

    second = EXECUTORS[kind]()
    try:
        assert second.recover(eid, meta).state in ACTIVE
        (job.workdir / "go").touch()
        status = run_to_end(second, eid)
        assert (status.state, status.exit_code) == (JobState.COMPLETED, 0)
        assert "released" in log_text(job)
    finally:
        second.close()


def test_recover_process_gone_without_exit_file(kind, tmp_path):
    job = make_job(tmp_path, "true")
    first = EXECUTORS[kind]()
    eid = first.submit(job)
    run_to_end(first, eid)
    meta = first.describe(eid)
    first.close()
    exit_path(job.workdir, job.job_id).unlink()

    status = EXECUTORS[kind]().recover(eid, meta)
    assert status.state is JobState.ERROR
    assert status.reason.startswith(VANISHED)


def test_recover_killed_while_server_was_down(kind, tmp_path):
    needs_async(kind)
    job = make_job(tmp_path, "sleep 300")
    first = EXECUTORS[kind]()
    eid = first.submit(job)
    wait_for(lambda: first.poll(eid).state is JobState.STARTED)
    meta = first.describe(eid)
    first.close()
    if kind == "drmaa":
        subprocess.run(["qdel", str(meta["grid_engine_jobid"])], check=True, capture_output=True)
        wait_for(lambda: subprocess.run(["qstat", "-j", str(meta["grid_engine_jobid"])],
                                        capture_output=True).returncode != 0)
    else:
        os.killpg(meta["pid"], signal.SIGKILL)
        wait_for(lambda: gone(meta["pid"]))

    status = EXECUTORS[kind]().recover(eid, meta)
    assert status.state is JobState.ERROR
    assert "vanished" in status.reason or "Grid Engine" in status.reason


def test_recover_uses_the_exit_file(kind, tmp_path):
    job = make_job(tmp_path, "exit 5")
    first = EXECUTORS[kind]()
    eid = first.submit(job)
    run_to_end(first, eid)
    meta = first.describe(eid)
    first.close()

    status = EXECUTORS[kind]().recover(eid, meta)
    assert (status.state, status.exit_code) == (JobState.ERROR, 5)


def test_concurrent_polls_during_cancel(kind, executor, tmp_path):
    needs_async(kind)
    import threading

    job = make_job(tmp_path, "sleep 300")
    eid = executor.submit(job)
    wait_for(lambda: executor.poll(eid).state is JobState.STARTED)
    seen, errors = [], []

    def poller():
        try:
            for _ in range(50):
                seen.append(executor.poll(eid).state)
                time.sleep(0.005)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=poller) for _ in range(4)]
    for t in threads:
        t.start()
    executor.cancel(eid, grace=0.5)
    for t in threads:
        t.join()
    assert not errors
    assert set(seen) <= {JobState.STARTED, JobState.CANCELLED}
    assert executor.poll(eid).state is JobState.CANCELLED
