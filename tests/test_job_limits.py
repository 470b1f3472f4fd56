"""A job's limits are set on its own process before its first command: core dumps, address space, niceness."""
import os
import threading

import pytest

from test_executor_contract import run_to_end
from torrentlite.runner.executor import InlineExecutor, JobSpec, Limits
from torrentlite.runner.local import LocalExecutor
from torrentlite.runner.states import JobState

PROBE = "\n".join([
    "{ ulimit -Sc; ulimit -Hc; ulimit -Sv; ulimit -Hv; } > limits.txt",
    "bash -c 'ulimit -Sc; ulimit -Hc; ulimit -Sv; ulimit -Hv' > child_limits.txt",
    "env > env.txt",
    "cut -d' ' -f19 /proc/$$/stat > nice.txt",
    "echo \"$0\" > argv0.txt",
])


@pytest.fixture(params=["local", "inline"])
def executor(request):
    ex = LocalExecutor() if request.param == "local" else InlineExecutor()
    yield ex
    ex.close()


def _bare_job(tmp_path, limits, env):
    """A job whose script is the probe alone (a rendered launch script sets ``ulimit -c 0`` itself)."""
    folder = tmp_path / "bare"
    folder.mkdir()
    script = folder / "probe.sh"
    script.write_text("#!/bin/bash\n" + PROBE + "\n")
    return JobSpec(job_id=4242, name="Probe", script=script, workdir=folder, env=env, limits=limits)


def _lines(job, name):
    return (job.workdir / name).read_text().split()


@pytest.mark.parametrize("env", [{}, {"POSIXLY_CORRECT": "1"}], ids=["bash-startup", "sh-prelude"])
def test_no_core_dumps_and_the_address_space_limit_hold_for_the_script_and_its_children(executor, tmp_path, env):
    job = _bare_job(tmp_path, Limits(memory_bytes=3 << 30, nice=0), env)
    status = run_to_end(executor, executor.submit(job))
    assert status.state is JobState.COMPLETED, job.log_path.read_text()
    kib = str((3 << 30) // 1024)
    assert _lines(job, "limits.txt") == ["0", "0", kib, kib]
    assert _lines(job, "child_limits.txt") == ["0", "0", kib, kib]
    names = {line.split("=", 1)[0] for line in (job.workdir / "env.txt").read_text().splitlines()}
    assert not names & {"BASH_ENV", "TORRENTLITE_JOB_AS_KIB"}
    assert _lines(job, "argv0.txt") == [str(job.script)]


def test_without_a_memory_limit_only_core_dumps_are_off(executor, tmp_path):
    job = _bare_job(tmp_path, Limits(nice=0), {})
    run_to_end(executor, executor.submit(job))
    assert _lines(job, "limits.txt") == ["0", "0", "unlimited", "unlimited"]


def test_niceness_is_the_jobs_and_not_the_servers(executor, tmp_path):
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    job = _bare_job(tmp_path, Limits(nice=5), {})
    seen = {}
    # Started from another thread too: no thread of the server takes the job's niceness.
    thread = threading.Thread(target=lambda: seen.update(status=run_to_end(executor, executor.submit(job)),
                                                         nice=os.getpriority(os.PRIO_PROCESS, 0)))
    thread.start()
    thread.join(30)
    assert seen["status"].state is JobState.COMPLETED
    assert _lines(job, "nice.txt") == [str(min(19, mine + 5))]
    assert seen["nice"] == mine
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine
