"""DrmaaExecutor: plugin jobs submitted to Grid Engine through DRMAA, followed by job status and exit files."""
from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import psutil

from .executor import VANISHED, Executor, JobSpec, JobStatus, Limits, UnknownJob, Usage, job_environment
from .gridengine import SESSION, GridEngineUnavailable, accounting, configure_environment, job_counts
from .outcome import JOB_TOKEN_ENV, TIMEOUT_KILL_AFTER, conclude, read_outcome, read_started
from .states import JobState

# Grid Engine sets these itself in every job (TMPDIR even disappears if the submitter passes one).
_SET_BY_GRID_ENGINE = ("JOB_ID", "JOB_NAME", "NSLOTS", "HOSTNAME", "TMPDIR", "TMP")
_CANCEL_WAIT = 60.0           # seconds to wait for Grid Engine to end a terminated job


@dataclass
class _GridJob:
    job: JobSpec
    ge_id: str
    token: str
    submitted_at: float
    running_at: Optional[float] = None
    cancelled: bool = False
    timed_out: bool = False
    unreachable_since: Optional[float] = None
    final: Optional[JobStatus] = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _number(usage: dict, key: str) -> float:
    try:
        return float(usage.get(key) or 0)
    except (TypeError, ValueError):
        return 0.0


def _signal_number(name) -> Optional[int]:
    import signal

    try:
        return int(signal.Signals[str(name)])
    except KeyError:
        return int(name) if str(name).isdigit() else None


def _kill_token_holders(token: str) -> int:
    """Kill processes on this machine that still carry a finished job's token; how many there were.

    Grid Engine kills the job's process group; processes that called setsid escape it (its
    ENABLE_ADDGRP_KILL does not reach them either). On a cluster, jobs that ran on other hosts are
    the site's to police; on a single-node installation this finds them.
    """
    if not token:
        return 0
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(JOB_TOKEN_ENV) == token and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    for proc in found:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(found, timeout=2.0)
    return len(found)


class DrmaaExecutor(Executor):
    """Submits the launch script itself as a Grid Engine job, as Torrent Suite's plugin daemon does.

    Working directory = the plugin's result folder, stdout and stderr joined into ``drmaa_stdout.txt``, the
    plugin name as job name, and a native specification built from the queue, slots and limits. Time and
    memory limits are Grid Engine's (``s_rt`` sends SIGUSR1, ``h_rt`` SIGKILL, ``h_vmem`` caps the address
    space); niceness is the queue's business. A job's end is read from its exit file (what survives a
    restart) and, for jobs this session submitted, from DRMAA's wait record.
    """

    name = "drmaa"

    def __init__(self, settings: Optional[dict] = None, timeout_kill_after: float = TIMEOUT_KILL_AFTER,
                 lost_after: Optional[float] = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else {}
        self.timeout_kill_after = timeout_kill_after
        self.lost_after = float(self.settings.get("drmaa_lost_after", 300.0) if lost_after is None else lost_after)
        self._jobs: Dict[str, _GridJob] = {}
        self._configured = False

    # ---- Grid Engine access --------------------------------------------------------------------------------

    def check(self) -> str:
        """Open the DRMAA session now; return what it is connected to.

        :raises GridEngineUnavailable: one message naming what is missing (package, library, SGE_ROOT, qmaster).
        """
        self._configure()
        SESSION.open()
        return f"Grid Engine through DRMAA ({SESSION.contact})"

    def native_specification(self, job: JobSpec) -> str:
        """``-q``/``-pe``/``-l`` options for a job: queue, slots, limits, then the site's own options."""
        parts = []
        if self.settings.get("drmaa_queue"):
            parts += ["-q", str(self.settings["drmaa_queue"])]
        slots = int(self.settings.get("drmaa_slots") or 1)
        if slots > 1:
            parts += ["-pe", str(self.settings.get("drmaa_parallel_env") or "smp"), str(slots)]
        resources = []
        if job.limits.wall_seconds:
            soft = max(1, math.ceil(job.limits.wall_seconds))
            resources += [f"s_rt={soft}", f"h_rt={soft + max(1, math.ceil(self.timeout_kill_after))}"]
        if job.limits.memory_bytes:
            resources.append(f"h_vmem={max(1, job.limits.memory_bytes // (1024 * 1024))}M")
        if resources:
            parts += ["-l", ",".join(resources)]
        extra = str(self.settings.get("drmaa_native_spec") or "").strip()
        return " ".join(parts + ([extra] if extra else []))

    # ---- Executor -------------------------------------------------------------------------------------------

    def _do_submit(self, job: JobSpec) -> str:
        self._configure()
        token = secrets.token_hex(12)
        env = job_environment(job, tmpdir="", token=token)
        for key in _SET_BY_GRID_ENGINE:
            env.pop(key, None)
        drmaa = SESSION.module()
        template = SESSION.call("createJobTemplate")
        try:
            template.remoteCommand = str(job.script)
            template.args = list(job.args)
            template.workingDirectory = str(job.workdir)
            template.outputPath = ":" + str(job.log_path)
            template.joinFiles = True
            template.jobName = job.name if job.name[:1].isalpha() else f"p{job.name}"
            template.jobEnvironment = env
            template.nativeSpecification = self.native_specification(job)
            template.jobSubmissionState = drmaa.JobSubmissionState.ACTIVE_STATE
            ge_id = str(SESSION.call("runJob", template))
        finally:
            try:
                SESSION.call("deleteJobTemplate", template)
            except Exception:
                pass
        external_id = f"drmaa-{ge_id}"
        with self._lock:
            self._jobs[external_id] = _GridJob(job=job, ge_id=ge_id, token=token, submitted_at=time.time())
        return external_id

    def _do_poll(self, external_id: str) -> JobStatus:
        run = self._get(external_id)
        with run.lock:
            return run.final or self._look(run)

    def _do_cancel(self, external_id: str, grace: float) -> None:
        run = self._get(external_id)
        errors = SESSION.errors()
        with run.lock:
            if run.final is not None:
                return
            run.cancelled = True
        try:
            SESSION.call("control", run.ge_id, SESSION.module().JobControlAction.TERMINATE)
        except errors.InvalidJobException:
            pass
        # Grid Engine kills the whole job (its process group and, with ENABLE_ADDGRP_KILL, every process
        # carrying the job's group id); wait until it reports the job ended.
        end = time.monotonic() + max(grace, 0) + _CANCEL_WAIT
        while time.monotonic() < end:
            with run.lock:
                if self._look(run).finished:
                    return
            time.sleep(0.2)

    def _do_recover(self, external_id: str, meta: dict) -> JobStatus:
        limits = Limits(wall_seconds=meta.get("wall_seconds"), memory_bytes=meta.get("memory_bytes"), nice=0)
        job = JobSpec(job_id=int(meta["job_id"]), name=str(meta.get("name", "")),
                      script=Path(meta.get("script", "")), workdir=Path(meta["workdir"]),
                      log_path=Path(meta["log_path"]) if meta.get("log_path") else None, limits=limits)
        ge_id = str(meta.get("grid_engine_jobid") or external_id.rpartition("-")[2])
        run = _GridJob(job=job, ge_id=ge_id, token=str(meta.get("token") or ""),
                       submitted_at=float(meta.get("submitted_at") or time.time()))
        with self._lock:
            self._jobs[external_id] = run
        return self._do_poll(external_id)

    def _do_describe(self, external_id: str) -> dict:
        run = self._get(external_id)
        job = run.job
        return {"executor": self.name, "grid_engine_jobid": int(run.ge_id), "token": run.token,
                "submitted_at": run.submitted_at, "job_id": job.job_id, "name": job.name,
                "script": str(job.script), "workdir": str(job.workdir), "log_path": str(job.log_path),
                "wall_seconds": job.limits.wall_seconds, "memory_bytes": job.limits.memory_bytes}

    def _do_forget(self, external_id: str) -> None:
        with self._lock:
            run = self._jobs.get(external_id)
            if run is not None and run.final is not None:
                self._jobs.pop(external_id, None)

    def _do_known(self) -> List[str]:
        with self._lock:
            return list(self._jobs)

    def _do_close(self) -> None:
        with self._lock:
            self._jobs.clear()

    def counts(self) -> dict:
        """Jobs on the cluster from Grid Engine: ``{"jobs": [{owner, state, queue, running}], "queues"}``."""
        self._configure()
        return job_counts()

    # ---- internals -----------------------------------------------------------------------------------------

    def _configure(self) -> None:
        if not self._configured:
            configure_environment(self.settings)
            self._configured = True

    def _get(self, external_id: str) -> _GridJob:
        with self._lock:
            try:
                return self._jobs[external_id]
            except KeyError:
                raise UnknownJob(external_id) from None

    def _look(self, run: _GridJob) -> JobStatus:
        """Ask Grid Engine about a job (caller holds ``run.lock``); settle it when it ended."""
        drmaa = SESSION.module()
        now = time.time()
        try:
            state = SESSION.call("jobStatus", run.ge_id)
        except drmaa.errors.InvalidJobException:
            return self._settle(run, gone=True)
        except GridEngineUnavailable as exc:
            if read_outcome(run.job) is not None:
                return self._settle(run, gone=True)
            run.unreachable_since = run.unreachable_since or now
            if now - run.unreachable_since >= self.lost_after:
                return self._settle(run, gone=True, missing=f"lost contact with Grid Engine for "
                                    f"{int(now - run.unreachable_since)} s: {exc}")
            started = read_started(run.job) is not None
            return JobStatus(JobState.STARTED if started else JobState.QUEUED, None, str(exc), self._usage(run))
        run.unreachable_since = None
        if state in (drmaa.JobState.DONE, drmaa.JobState.FAILED):
            return self._settle(run)
        if state in (drmaa.JobState.RUNNING, drmaa.JobState.SYSTEM_SUSPENDED, drmaa.JobState.USER_SUSPENDED,
                     drmaa.JobState.USER_SYSTEM_SUSPENDED):
            run.running_at = run.running_at or now
            self._enforce_wall(run, now)
            if read_started(run.job) is not None:
                suspended = state != drmaa.JobState.RUNNING
                return JobStatus(JobState.STARTED, None, "suspended" if suspended else "running",
                                 self._usage(run))
            return JobStatus(JobState.QUEUED, None, "being transferred to its execution host", self._usage(run))
        reason = "on hold" if "hold" in str(state) else f"waiting in the Grid Engine queue ({state})"
        return JobStatus(JobState.QUEUED, None, reason, self._usage(run))

    def _settle(self, run: _GridJob, gone: bool = False, missing: str = "") -> JobStatus:
        """Final status of an ended job, from DRMAA's wait record (if this session has it) and the exit file."""
        info = None
        if not gone:
            info = self._reap(run)
        returncode = None
        usage = None
        if info is not None:
            if info.hasSignal:
                number = _signal_number(info.terminatedSignal)
                returncode = 128 + number if number else None
            elif info.hasExited:
                returncode = int(info.exitStatus)
            usage = self._usage_from(info.resourceUsage or {}, run)
        if usage is None:
            usage = self._usage_from(accounting(run.ge_id), run)
        outcome = read_outcome(run.job)
        timed_out = False
        limit = run.job.limits.wall_seconds
        if run.timed_out or (outcome is None and limit and not run.cancelled and usage.wall_seconds >= limit):
            timed_out = True      # killed at the hard limit before the launch script could record it
        if not missing and gone:
            missing = f"{VANISHED}: Grid Engine no longer knows job {run.ge_id}"
        elif not missing and read_started(run.job) is None:
            missing = ("Grid Engine ended the job before its launch script started (is the data directory "
                       "shared at the same path with the execution host?)")
        elif not missing:
            missing = "Grid Engine ended the job before its launch script recorded a status"
        state, code, reason = conclude(run.job, returncode=returncode, timed_out=timed_out,
                                       cancelled=run.cancelled, missing=missing)
        leftovers = _kill_token_holders(run.token)
        if leftovers:
            reason += f"; killed {leftovers} process(es) the job left behind on this machine"
        run.final = JobStatus(state, code, reason, usage)
        return run.final

    def _enforce_wall(self, run: _GridJob, now: float) -> None:
        """Terminate a job past its hard limit: Grid Engine sends the soft limit's SIGUSR1 at once but may
        notice the hard limit only at its next load report (up to 40 s by default)."""
        limit = run.job.limits.wall_seconds
        begun = read_started(run.job) or run.running_at
        if run.timed_out or not limit or not begun or now < begun + limit + self.timeout_kill_after + 1.0:
            return
        run.timed_out = True
        try:
            SESSION.call("control", run.ge_id, SESSION.module().JobControlAction.TERMINATE)
        except Exception:
            run.timed_out = False     # try again at the next poll

    def _reap(self, run: _GridJob):
        """DRMAA's record of a job this session submitted, or None (another session's job, never ran)."""
        drmaa = SESSION.module()
        try:
            return SESSION.call("wait", run.ge_id, drmaa.Session.TIMEOUT_NO_WAIT)
        except Exception:
            # InvalidJob (another session's job), ExitTimeout, an unreachable qmaster, or - for a job
            # deleted before it ran - DRMAA_ERRNO_NO_RUSAGE, which drmaa raises as a plain Exception.
            return None

    def _usage(self, run: _GridJob) -> Usage:
        begun = read_started(run.job) or run.running_at
        return Usage(max(0.0, time.time() - begun) if begun else 0.0, 0.0, 0)

    def _usage_from(self, fields: dict, run: _GridJob) -> Usage:
        """Usage from DRMAA's resource usage or qacct (same names; ``ru_maxrss`` in KiB)."""
        wall = _number(fields, "ru_wallclock") or self._observed_wall(run)
        cpu = _number(fields, "cpu") or (_number(fields, "ru_utime") + _number(fields, "ru_stime"))
        rss = int(_number(fields, "ru_maxrss") * 1024)
        return Usage(wall, cpu, rss)

    def _observed_wall(self, run: _GridJob) -> float:
        # Markers have one-second resolution: prefer when this process first saw the job running.
        begun = run.running_at or read_started(run.job) or run.submitted_at
        outcome = read_outcome(run.job)
        end = outcome.finished_at if outcome is not None and outcome.finished_at else 0.0
        return max(0.0, (end if end > begun else time.time()) - begun)


__all__ = ["DrmaaExecutor"]
