"""LocalExecutor: plugin jobs as subprocesses of this server, each in its own session, watched with psutil."""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import psutil

from .executor import (VANISHED, Executor, JobSpec, JobStatus, Limits, UnknownJob, Usage, reap, rusage_cpu,
                       rusage_rss, start_process)
from .outcome import JOB_TOKEN_ENV, TIMEOUT_KILL_AFTER, conclude, read_started
from .spawn import TMPDIRS
from .procscan import (CHILD_LISTS, ExitWatch, Stat, carries, children_of, forks, pid_window, read_stat,
                       start_ticks)
from .states import JobState

# psutil derives create_time from the boot time, which moves when the clock is stepped: compare the kernel's
# start time in clock ticks when we have it, else create_time with this slack.
_CREATE_TIME_SLACK = 1.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
# Seconds between two usage samples of a running job. The scheduler polls every 10 ms while it has work;
# a job's processes are read at most this often (its end is seen at once all the same).
SAMPLE_EVERY = 0.05


@dataclass
class _Run:
    job: JobSpec
    pid: int
    create_time: float
    start_ticks: Optional[int]
    started_at: float
    token: str
    tmpdir: Optional[str]
    forks_before: Optional[int] = None     # fork counter just before the script started (None after a restart)
    started: bool = False           # the script's start marker was seen
    sampled_at: Optional[float] = None  # time.monotonic() of the last usage sample
    popen: object = None            # our Popen; None when re-attached after a restart
    deadline: Optional[float] = None
    usr1_at: Optional[float] = None
    timed_out: bool = False
    cancelled: bool = False
    # Processes of the job: (pid, kernel start time in clock ticks).
    members: set = field(default_factory=set)
    ended: set = field(default_factory=set)       # members seen gone or zombie: they never run again
    cpu_seen: Dict[Tuple[int, int], float] = field(default_factory=dict)
    peak_rss: int = 0
    returncode: Optional[int] = None
    rusage: object = None
    ended_at: Optional[float] = None
    final: Optional[JobStatus] = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _process(pid: int) -> Optional[psutil.Process]:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class LocalExecutor(Executor):
    """Runs ``/bin/bash <launch script>`` as a child process in a new session.

    The process tree is tracked with psutil at every poll (plus an environment token, so processes that called
    setsid and lost their parent are still found); when a job ends, whatever is left of its tree is killed, as
    a batch queue would do.
    """

    name = "local"

    def __init__(self, max_memory_default: Optional[int] = None,
                 timeout_kill_after: float = TIMEOUT_KILL_AFTER) -> None:
        super().__init__()
        self.max_memory_default = max_memory_default
        self.timeout_kill_after = timeout_kill_after
        self._runs: Dict[str, _Run] = {}
        self._exits = ExitWatch()

    # ---- Executor -------------------------------------------------------------------------------------------

    def _do_submit(self, job: JobSpec) -> str:
        started_at = time.time()
        forks_before = forks()
        popen, token, tmpdir = start_process(job, default_memory=self.max_memory_default)
        # Within milliseconds of the kernel's own figure, which is only the fallback when a process's
        # start time in clock ticks cannot be read (see _CREATE_TIME_SLACK).
        create_time = time.time()
        run = _Run(job=job, pid=popen.pid, create_time=create_time, start_ticks=start_ticks(popen.pid),
                   started_at=started_at, token=token, tmpdir=tmpdir, popen=popen,
                   forks_before=forks_before)
        if job.limits.wall_seconds is not None:
            run.deadline = started_at + float(job.limits.wall_seconds)
        self._exits.add(popen.pid)
        external_id = f"local-{job.job_id}-{popen.pid}"
        with self._lock:
            self._runs[external_id] = run
        return external_id

    def _do_poll(self, external_id: str) -> JobStatus:
        run = self._get(external_id)
        with run.lock:
            if run.final is not None:
                return run.final
            now = time.monotonic()
            if run.sampled_at is None or now - run.sampled_at >= SAMPLE_EVERY:
                self._sample(run)
                run.sampled_at = now
            if self._ended(run):
                return self._finish(run)
            self._enforce_wall(run)
            run.started = run.started or read_started(run.job) is not None
            started = run.started
            if run.timed_out:
                reason = "wall-clock limit exceeded; waiting for the job to stop"
            else:
                reason = "running" if started else "waiting for the launch script to start"
            state = JobState.STARTED if started else JobState.QUEUED
            return JobStatus(state, None, reason, self._usage(run))

    def _do_cancel(self, external_id: str, grace: float) -> None:
        run = self._get(external_id)
        with run.lock:
            if run.final is not None:
                return
            run.cancelled = True
            self._sample(run)
            procs = self._tree(run, scan=True)
        # Signals and waiting happen outside the lock so polls from other threads are not held up.
        self._signal(run, procs, signal.SIGTERM)
        survivors = self._wait_gone(run, procs, grace)
        if survivors:
            with run.lock:
                survivors += [p for p in self._tree(run, scan=True) if p not in survivors]
            self._signal(run, survivors, signal.SIGKILL)
            survivors = self._wait_gone(run, survivors, max(grace, 2.0))
        with run.lock:
            if run.final is None:
                self._ended(run, wait=5.0)
                self._finish(run, leftovers=survivors)

    def _do_recover(self, external_id: str, meta: dict) -> JobStatus:
        limits = Limits(wall_seconds=meta.get("wall_seconds"), memory_bytes=meta.get("memory_bytes"),
                        nice=int(meta.get("nice") or 0))
        job = JobSpec(job_id=int(meta["job_id"]), name=str(meta.get("name", "")),
                      script=Path(meta.get("script", "")), workdir=Path(meta["workdir"]),
                      log_path=Path(meta["log_path"]) if meta.get("log_path") else None, limits=limits)
        create_time = float(meta.get("create_time") or 0.0)
        ticks = meta.get("start_ticks")
        run = _Run(job=job, pid=int(meta["pid"]), create_time=create_time,
                   start_ticks=int(ticks) if ticks is not None else None,
                   started_at=float(meta.get("started_at") or create_time), token=str(meta.get("token") or ""),
                   tmpdir=meta.get("tmpdir"))
        if limits.wall_seconds is not None:
            run.deadline = run.started_at + float(limits.wall_seconds)
        with self._lock:
            self._runs[external_id] = run
        return self._do_poll(external_id)

    def _do_describe(self, external_id: str) -> dict:
        run = self._get(external_id)
        job = run.job
        return {"executor": self.name, "pid": run.pid, "create_time": run.create_time,
                "start_ticks": run.start_ticks, "started_at": run.started_at, "token": run.token,
                "tmpdir": run.tmpdir, "job_id": job.job_id, "name": job.name, "script": str(job.script),
                "workdir": str(job.workdir), "log_path": str(job.log_path),
                "wall_seconds": job.limits.wall_seconds, "memory_bytes": job.limits.memory_bytes,
                "nice": job.limits.nice}

    def _do_forget(self, external_id: str) -> None:
        with self._lock:
            run = self._runs.get(external_id)
        if run is None:
            return
        # Polling reaps a script that ended (no zombie is left) and settles its final status.
        if self._do_poll(external_id).finished:
            with self._lock:
                self._runs.pop(external_id, None)

    def _do_known(self) -> List[str]:
        with self._lock:
            return list(self._runs)

    def _do_close(self) -> None:
        self._exits.close()
        with self._lock:
            self._runs.clear()

    def notify_on_exit(self, callback) -> None:
        self._exits.notify = callback

    def exited(self, external_id: str) -> bool:
        with self._lock:
            run = self._runs.get(external_id)
        if run is None:
            return False
        with run.lock:
            return run.final is not None or self._ended(run)

    # ---- internals -----------------------------------------------------------------------------------------

    def _get(self, external_id: str) -> _Run:
        with self._lock:
            try:
                return self._runs[external_id]
            except KeyError:
                raise UnknownJob(external_id) from None

    def _root(self, run: _Run) -> Optional[psutil.Process]:
        """The launch script's process, if it still exists and is the same process (not a reused pid)."""
        try:
            proc = psutil.Process(run.pid)
            ticks = start_ticks(run.pid) if run.start_ticks is not None else None
            if ticks is not None:
                return proc if ticks == run.start_ticks else None
            if abs(proc.create_time() - run.create_time) > _CREATE_TIME_SLACK:
                return None
            return proc
        except psutil.Error:
            return None

    def _sample(self, run: _Run) -> None:
        """Add current descendants to the tracked set and record memory and CPU use.

        One read of /proc/<pid>/stat per process gives its state, threads, start time, CPU time and
        resident size; its children come from the kernel's child lists. A member is named by its pid and
        start time (see :meth:`_bound` for signalling it).
        """
        seen: Dict[int, Stat] = {}
        root = read_stat(run.pid)
        if root is not None and root.state != b"Z" and self._is_root(run, root):
            if CHILD_LISTS:
                todo = [(run.pid, root)]
                while todo:
                    pid, stat = todo.pop()
                    seen[pid] = stat
                    for child in children_of(pid, stat.threads):
                        found = read_stat(child)
                        if found is not None and child not in seen:
                            todo.append((child, found))
            else:
                seen[run.pid] = root
                for pid in self._children(run):
                    found = read_stat(pid)
                    if found is not None:
                        seen[pid] = found
            run.members.update((pid, stat.start_ticks) for pid, stat in seen.items())
        rss = 0
        for key in run.members:
            if key in run.ended:
                continue
            stat = seen.get(key[0]) or read_stat(key[0])
            if stat is None or stat.state == b"Z" or stat.start_ticks != key[1]:
                run.ended.add(key)
                continue
            rss += stat.rss_pages * _PAGE
            run.cpu_seen[key] = stat.cpu_ticks / _CLOCK_TICKS
        run.peak_rss = max(run.peak_rss, rss)

    def _is_root(self, run: _Run, stat: Stat) -> bool:
        if run.start_ticks is not None:
            return stat.start_ticks == run.start_ticks
        return self._root(run) is not None

    def _children(self, run: _Run) -> List[int]:
        """Descendants of the launch script through psutil (kernels without per-thread child lists)."""
        root = self._root(run)
        try:
            return [p.pid for p in root.children(recursive=True)] if root is not None else []
        except psutil.Error:
            return []

    @staticmethod
    def _bound(pid: int, ticks: int) -> Optional[psutil.Process]:
        """A psutil object (which guards signals against a reused pid) for the live process ``(pid, ticks)``.

        Made only when a process is still there to be signalled: one read of its stat file tells a
        member that has ended or whose pid went to another process."""
        stat = read_stat(pid)
        if stat is None or stat.state == b"Z" or stat.start_ticks != ticks:
            return None
        proc = _process(pid)
        # Read again once the object is bound: the pid may have gone to another process in between.
        return proc if proc is not None and start_ticks(pid) == ticks else None

    def _tree(self, run: _Run, scan: bool = False) -> List[psutil.Process]:
        """Live processes of the job; with ``scan``, also any process carrying the job's environment token."""
        procs = {}
        for key in run.members - run.ended:
            proc = self._bound(*key)
            if proc is not None:
                procs[key] = proc
            else:
                run.ended.add(key)
        if scan and run.token:
            for proc in self._token_holders(run):
                ticks = start_ticks(proc.pid)
                if ticks is not None:
                    procs.setdefault((proc.pid, ticks), proc)
        return list(procs.values())

    def _token_holders(self, run: _Run) -> List[psutil.Process]:
        """Live processes carrying the job's token, among those created after the job's script.

        Reading every process's start time in /proc is the dear part of finishing a job; the pids handed
        out since the script started bound the search to the few new ones (all of them, by start time,
        when the bound is unknown, e.g. for a job re-attached after a restart). Within the bound the
        environment is the test: one read per process, and a psutil object only for a holder.
        """
        window = pid_window(run.pid, run.forks_before)
        needle = f"{JOB_TOKEN_ENV}={run.token}".encode()
        me = os.getpid()
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid == me or (window is not None and not window(pid)):
                continue
            if not carries(pid, needle):
                continue
            try:
                proc = psutil.Process(pid)
                # Asked again now that the object is bound to one process: the pid may have been reused.
                if window is None and not self._created_since(run, proc):
                    continue
                if proc.environ().get(JOB_TOKEN_ENV) == run.token and _alive(proc):
                    found.append(proc)
            except psutil.Error:
                continue
        return found

    def _created_since(self, run: _Run, proc: psutil.Process) -> bool:
        ticks = start_ticks(proc.pid) if run.start_ticks is not None else None
        if ticks is not None:
            return ticks >= run.start_ticks
        return proc.create_time() >= run.create_time - _CREATE_TIME_SLACK

    def _signal(self, run: _Run, procs: List[psutil.Process], sig: int) -> None:
        root = self._root(run)
        if root is not None and _alive(root):
            try:
                os.killpg(run.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        for proc in procs:
            try:
                proc.send_signal(sig)  # psutil refuses if the pid now belongs to another process
            except psutil.Error:
                pass

    def _wait_gone(self, run: _Run, procs: List[psutil.Process], timeout: float) -> List[psutil.Process]:
        """Wait for ``procs`` to end (zombies count as ended); return those still alive after ``timeout``.

        psutil's own wait would collect our child and lose its exit status, so this only looks.
        """
        end = time.monotonic() + max(0.0, timeout)
        delay = 0.01
        while True:
            alive = [p for p in procs if _alive(p)]
            if not alive or time.monotonic() >= end:
                return alive
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _ended(self, run: _Run, wait: float = 0.0) -> bool:
        """Whether the launch script's process has ended; collects our child with its resource usage."""
        if run.returncode is not None or run.ended_at is not None:
            return True
        if run.popen is not None:
            result = reap(run.popen)
            if result is None and wait > 0:
                self._wait_gone(run, [p for p in [self._root(run)] if p is not None], wait)
                result = reap(run.popen)
            if result is None:
                return False
            run.returncode, run.rusage = result
            run.ended_at = time.time()
            return True
        root = self._root(run)
        if root is not None and _alive(root):
            return False
        if root is not None:
            # A zombie whose parent is this process (an executor instance replaced in the same server).
            try:
                os.waitpid(run.pid, os.WNOHANG)
            except ChildProcessError:
                pass
        run.ended_at = time.time()
        return True

    def _enforce_wall(self, run: _Run) -> None:
        now = time.time()
        if run.deadline is None or now < run.deadline:
            return
        if run.usr1_at is None:
            # As the real queue: SIGUSR1 lets the launch script record "Timed Out"; SIGKILL follows.
            run.timed_out = True
            run.usr1_at = now
            self._signal(run, self._tree(run), signal.SIGUSR1)
        elif now >= run.usr1_at + self.timeout_kill_after:
            self._signal(run, self._tree(run, scan=True), signal.SIGKILL)

    def _usage(self, run: _Run) -> Usage:
        end = run.ended_at or time.time()
        cpu = max(sum(run.cpu_seen.values()), rusage_cpu(run.rusage))
        return Usage(max(0.0, end - run.started_at), cpu, max(run.peak_rss, rusage_rss(run.rusage)))

    def _finish(self, run: _Run, leftovers: Optional[List[psutil.Process]] = None) -> JobStatus:
        # A job ends with its launch script: processes it left behind are killed, as on a batch queue.
        rest = self._tree(run, scan=True)
        if rest:
            self._signal(run, rest, signal.SIGKILL)
            leftovers = self._wait_gone(run, rest, 2.0)
        missing = VANISHED if run.popen is None else "process ended without recording its exit status"
        state, code, reason = conclude(run.job, returncode=run.returncode, timed_out=run.timed_out,
                                       cancelled=run.cancelled, missing=missing)
        if leftovers:
            reason += f"; {len(leftovers)} process(es) could not be killed: " + \
                      ", ".join(str(p.pid) for p in leftovers)
        if run.tmpdir:
            # Only a folder no process of the job can still be using is given to another job.
            TMPDIRS.give_back(run.tmpdir, reuse=run.popen is not None and not leftovers)
        run.final = JobStatus(state, code, reason, self._usage(run))
        return run.final


__all__ = ["LocalExecutor"]
