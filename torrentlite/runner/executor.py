"""The Executor interface for plugin jobs, the job and status records, and what every executor shares."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .fsio import ensure_dir
from .outcome import TIMEOUT_KILL_AFTER, clear_markers, conclude
from .spawn import TMPDIRS, job_environment, launch_command, start_process
from .states import JobState

LOG_NAME = "drmaa_stdout.txt"
VANISHED = "process vanished (server restart)"


@dataclass
class Limits:
    """Per-job limits: wall clock (SIGUSR1, then SIGKILL), address space (RLIMIT_AS) and niceness."""

    wall_seconds: Optional[float] = None
    memory_bytes: Optional[int] = None
    nice: int = 10


@dataclass
class JobSpec:
    """One plugin job as an executor sees it; ``job_id`` is never reused and is exported as ``JOB_ID``."""

    job_id: int
    name: str
    script: Path
    args: List[str] = field(default_factory=list)
    workdir: Path = Path(".")
    log_path: Optional[Path] = None
    env: Dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        self.script = Path(self.script)
        self.workdir = Path(self.workdir)
        self.log_path = Path(self.log_path) if self.log_path is not None else self.workdir / LOG_NAME
        self.args = [str(a) for a in self.args]


@dataclass
class Usage:
    """Resources a job used so far (or in total once finished)."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_bytes: int = 0


@dataclass
class JobStatus:
    """What an executor knows about a job: its state, exit code once finished, a reason for humans."""

    state: JobState
    exit_code: Optional[int] = None
    reason: str = ""
    usage: Optional[Usage] = None

    @property
    def finished(self) -> bool:
        return self.state.is_terminal


class ExecutorUnavailable(RuntimeError):
    """The executor cannot run jobs from this process; the message says what is missing."""


class UnknownJob(KeyError):
    """The executor has no job with this external id (never submitted here, or forgotten by ``close``)."""


class Executor(ABC):
    """Runs plugin jobs somewhere: a subprocess, the calling thread, or a Grid Engine queue.

    Every executor runs the same rendered launch script, which records a "started" marker and its exit status
    in ``<workdir>/.torrentlite/`` (see :mod:`torrentlite.runner.outcome`); finishing is therefore shared and
    the states are the same whatever ran the job. Implementations are thread-safe: the scheduler thread and
    HTTP request threads call them concurrently. No method busy-waits; time limits are enforced when
    :meth:`poll` is called, so the caller polls active jobs periodically.

    Subclasses implement the ``_do_*`` methods; the public methods do the bookkeeping.
    """

    #: Name used in settings to pick this executor ("local", "drmaa", "inline").
    name = "abstract"

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def check(self) -> str:
        """Make sure jobs can be run from this process (at start-up); return what they run on.

        :raises ExecutorUnavailable: one message naming what is missing.
        """
        return f"{self.name} executor"

    def submit(self, job: JobSpec) -> str:
        """Start ``job`` and return its external id.

        :param job: the job; ``job.script`` must exist and ``job.workdir`` is created if missing. Markers left
            by an earlier attempt with the same ``job_id`` are removed and an existing log is rotated to
            ``<log>.~N~`` before the job starts.
        :return: an opaque string identifying the job to this executor (persist it with :meth:`describe`).
        :raises FileNotFoundError: the launch script does not exist.
        """
        if not job.script.is_file():
            raise FileNotFoundError(f"launch script not found: {job.script}")
        ensure_dir(job.workdir)
        clear_markers(job)
        rotate_log(job.log_path)
        return self._do_submit(job)

    def poll(self, external_id: str) -> JobStatus:
        """Current status of a job; enforces its wall-clock limit.

        :param external_id: a value returned by :meth:`submit` or passed to :meth:`recover`.
        :return: ``Queued`` (process exists, script not started), ``Started``, or a terminal state with
            ``exit_code``, ``reason`` and ``usage``. Once terminal, the same status is returned on every call.
        :raises UnknownJob: the id is not known to this executor.
        """
        return self._do_poll(external_id)

    def cancel(self, external_id: str, grace: float = 5.0) -> None:
        """Stop a job: SIGTERM to all its processes, SIGKILL after ``grace`` seconds, and wait until gone.

        The job's final state is ``Cancelled`` (see :meth:`poll`). Cancelling a finished job changes nothing.

        :param external_id: the job.
        :param grace: seconds between SIGTERM and SIGKILL.
        :raises UnknownJob: the id is not known to this executor.
        """
        self._do_cancel(external_id, grace)

    def recover(self, external_id: str, meta: dict) -> JobStatus:
        """Take a job back after a server restart.

        :param external_id: the id :meth:`submit` returned before the restart.
        :param meta: what :meth:`describe` returned for it (persisted by the caller), e.g. pid and process
            create time for a local job.
        :return: the job's status: still running (re-attached; poll it as usual), finished with the code in its
            exit file, or ``Error`` with reason "process vanished (server restart)".
        """
        return self._do_recover(external_id, dict(meta))

    def describe(self, external_id: str) -> dict:
        """JSON-serialisable facts needed to :meth:`recover` the job later (persist them with the job).

        :raises UnknownJob: the id is not known to this executor.
        """
        return self._do_describe(external_id)

    def forget(self, external_id: str) -> None:
        """Drop what the executor keeps about a job the caller no longer follows.

        A finished job is simply released; a job still running is left alone (it can be recovered).
        Unknown ids are ignored.
        """
        self._do_forget(external_id)

    def exited(self, external_id: str) -> bool:
        """Whether the job's own process has ended (cheap; the job is not finished by this). Executors that
        cannot tell cheaply say False, and their jobs are found ended by :meth:`poll`."""
        return False

    def known(self) -> List[str]:
        """External ids of the jobs this executor currently keeps."""
        return self._do_known()

    def close(self) -> None:
        """Forget all jobs and release resources. Running jobs keep running and can be recovered."""
        self._do_close()

    def notify_on_exit(self, callback) -> None:
        """Have ``callback()`` called (from any thread) when a job may have ended; executors that cannot
        tell ignore this, and their jobs are found ended by polling."""

    @abstractmethod
    def _do_submit(self, job: JobSpec) -> str: ...

    @abstractmethod
    def _do_poll(self, external_id: str) -> JobStatus: ...

    @abstractmethod
    def _do_cancel(self, external_id: str, grace: float) -> None: ...

    @abstractmethod
    def _do_recover(self, external_id: str, meta: dict) -> JobStatus: ...

    @abstractmethod
    def _do_describe(self, external_id: str) -> dict: ...

    def _do_forget(self, external_id: str) -> None:
        pass

    def _do_known(self) -> List[str]:
        return []

    def _do_close(self) -> None:
        pass


# ---- shared by the executors that start the script themselves ---------------------------------------------

def rotate_log(log_path: Path) -> Optional[Path]:
    """Move an existing log aside to ``<name>.~N~`` (next free N), as the real queue prolog does."""
    log_path = Path(log_path)
    if not log_path.exists():
        return None
    prefix = log_path.name + ".~"
    numbers = [0]
    for sibling in log_path.parent.iterdir():
        middle = sibling.name[len(prefix):-1] if sibling.name.startswith(prefix) and sibling.name.endswith("~") else ""
        if middle.isdigit():
            numbers.append(int(middle))
    target = log_path.with_name(f"{prefix}{max(numbers) + 1}~")
    os.replace(log_path, target)
    return target


def reap(proc: subprocess.Popen, block: bool = False):
    """Collect our child's exit with its resource usage: ``(returncode, rusage)``, or None if still running.

    Returns ``(None, None)`` when the child was already collected elsewhere.
    """
    try:
        pid, status, rusage = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return (proc.returncode, None)
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (proc.returncode, rusage)


def wait_exit(pid: int, timeout: Optional[float]) -> bool:
    """Sleep until process ``pid`` exits (without collecting it) or ``timeout`` passes; True if it exited."""
    if timeout is not None and timeout <= 0:
        timeout = 0.0
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is None:
        # Old kernels: fall back to polling the process state.
        end = None if timeout is None else time.monotonic() + timeout
        while end is None or time.monotonic() < end:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
            time.sleep(0.05)
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(None if timeout is None else int(timeout * 1000) + 1))
    finally:
        os.close(fd)


def rusage_cpu(rusage) -> float:
    return 0.0 if rusage is None else float(rusage.ru_utime + rusage.ru_stime)


def rusage_rss(rusage) -> int:
    # ru_maxrss is in KiB on Linux.
    return 0 if rusage is None else int(rusage.ru_maxrss) * 1024


class InlineExecutor(Executor):
    """Runs each job to its end inside :meth:`submit` (a test and debug double): the real script, real limits."""

    name = "inline"

    def __init__(self, max_memory_default: Optional[int] = None,
                 timeout_kill_after: float = TIMEOUT_KILL_AFTER) -> None:
        super().__init__()
        self.max_memory_default = max_memory_default
        self.timeout_kill_after = timeout_kill_after
        self._done: Dict[str, Tuple[JobSpec, JobStatus, dict]] = {}

    def _do_submit(self, job: JobSpec) -> str:
        external_id = f"inline-{job.job_id}"
        started = time.time()
        proc, _token, tmpdir = start_process(job, default_memory=self.max_memory_default)
        try:
            timed_out = False
            limit = job.limits.wall_seconds
            if limit is not None and not wait_exit(proc.pid, limit):
                timed_out = True
                _signal_group(proc.pid, signal.SIGUSR1)
                if not wait_exit(proc.pid, self.timeout_kill_after):
                    _signal_group(proc.pid, signal.SIGKILL)
            returncode, rusage = reap(proc, block=True)
        finally:
            TMPDIRS.give_back(tmpdir, reuse=False)   # background processes of the job are not stopped here
        state, code, reason = conclude(job, returncode=returncode, timed_out=timed_out)
        usage = Usage(time.time() - started, rusage_cpu(rusage), rusage_rss(rusage))
        meta = {"executor": self.name, "pid": proc.pid, "job_id": job.job_id, "name": job.name,
                "workdir": str(job.workdir), "script": str(job.script)}
        with self._lock:
            self._done[external_id] = (job, JobStatus(state, code, reason, usage), meta)
        return external_id

    def _entry(self, external_id: str):
        with self._lock:
            try:
                return self._done[external_id]
            except KeyError:
                raise UnknownJob(external_id) from None

    def _do_poll(self, external_id: str) -> JobStatus:
        return self._entry(external_id)[1]

    def _do_cancel(self, external_id: str, grace: float) -> None:
        self._entry(external_id)  # already finished: nothing to stop

    def _do_describe(self, external_id: str) -> dict:
        return dict(self._entry(external_id)[2])

    def _do_recover(self, external_id: str, meta: dict) -> JobStatus:
        job = JobSpec(job_id=int(meta["job_id"]), name=str(meta.get("name", "")),
                      script=Path(meta.get("script", "")), workdir=Path(meta["workdir"]))
        state, code, reason = conclude(job, missing=VANISHED)
        status = JobStatus(state, code, reason, None)
        with self._lock:
            self._done[external_id] = (job, status, dict(meta))
        return status

    def _do_close(self) -> None:
        with self._lock:
            self._done.clear()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


__all__ = ["Limits", "JobSpec", "Usage", "JobStatus", "UnknownJob", "ExecutorUnavailable", "Executor", "InlineExecutor",
           "rotate_log", "job_environment", "launch_command", "start_process", "reap", "wait_exit",
           "LOG_NAME", "VANISHED"]
