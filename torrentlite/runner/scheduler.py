"""RunLevelScheduler: plugin launches become queued jobs; one testable tick starts, polls and finishes them."""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, Dict, List, Optional

import psutil

from .executor import Executor
from .jobend import ACTIVE_SQL, Finishing, dir_usage, now_text
from .jobstart import AHEAD, Starting
from .jobtexts import JobTexts
from .language import LanguageCache
from .legacy_env import legacy_python
from .launching import SEQUENCE_TABLE, LaunchError, Launching
from .startplugin import fetch
from .states import JobState
from .validate import ValidationQueue

log = logging.getLogger("torrentlite.scheduler")

BUSY_INTERVAL = 0.01      # seconds between ticks while jobs are queued (or running, on an executor that polls)
WATCH_INTERVAL = 0.25     # seconds between ticks while jobs only run and their ends wake the loop
IDLE_INTERVAL = 5.0       # seconds between ticks with nothing to do (launches wake the loop at once)
REPORTS_KEPT = 1.0        # seconds a report read for job files may serve later ticks
_STARTED = JobState.STARTED.value
_WAITING = (JobState.QUEUED.value, JobState.PENDING.value)


def _queued_as(job: dict) -> int:
    """The job id a job was queued under (holds name it), even after Grid Engine gave the row its own."""
    return int((job.get("executor_meta") or {}).get("queued_as") or job["grid_engine_jobid"])


def _hold_ids(jobs: List[dict]) -> set:
    """Ids a queued job's holds may name, of every job still active: queued-under ids and current ones."""
    live = [j for j in jobs if j["state"] != "done"]
    return {j["grid_engine_jobid"] for j in live} | {_queued_as(j) for j in live}


class _HoldIds:
    """The ids of :func:`_hold_ids`, worked out when a hold is first looked at: most jobs have none."""

    def __init__(self, jobs: List[dict]):
        self._jobs = jobs
        self._ids: Optional[set] = None

    def __contains__(self, jobid) -> bool:
        if self._ids is None:
            self._ids = _hold_ids(self._jobs)
        return jobid in self._ids

    def changed(self) -> None:
        """A job started (maybe under a new number) or ended: work the ids out again when next asked."""
        self._ids = None


class _Lazy:
    """A value computed on first use (most ticks never need it)."""

    def __init__(self, make: Callable[[], object]):
        self._make = make

    @property
    def value(self):
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value


class RunLevelScheduler(Launching, Starting, Finishing):
    """Turns launches into ``PluginResultJob`` rows and runs them through an executor.

    Launch writes Queued rows (with their holds) in one short transaction and wakes the loop. Each
    :meth:`tick` polls running jobs (finishing those that ended), then starts queued jobs in job-id order
    whose holds are clear while a slot and enough memory are free. Everything is in the database, so a
    restarted server resumes with :meth:`recover`.
    """

    def __init__(self, store, executor: Executor, settings, clock: Callable[[], float] = time.time):
        self.store = store
        self.db = store.db
        self.executor = executor
        self.settings = settings
        self.clock = clock
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._interval = IDLE_INTERVAL
        self._recovered = False
        self.languages = LanguageCache()
        data_path = getattr(settings, "data_path", None)
        self.validations = ValidationQueue(
            self.languages, legacy_python=lambda: legacy_python(data_path) if data_path is not None else None)
        self.validations.on_done = self._wake.set
        self._exits_wake = hasattr(executor, "notify_on_exit")
        if self._exits_wake:
            # A slot is free the moment a job ends, not at the next tick.
            executor.notify_on_exit(self._wake.set)
        self._validation_done: Dict[tuple, List[str]] = {}
        self._cancelling: set = set()
        self._rows: Dict[int, dict] = {}
        self._prepared: dict = {}
        self._job_texts = JobTexts()
        self._plugin_generation = 0
        self._reports: dict = {}
        self._reports_read: tuple = ()
        self._sequence_ready = False

    def _ensure_sequence(self) -> None:
        """Create the job-id sequence (first use, after migrations) starting above every stored job id."""
        if self._sequence_ready:
            return
        with self.store.write():
            self.db.execute_sql(f'CREATE TABLE IF NOT EXISTS "{SEQUENCE_TABLE}" '
                                '("id" INTEGER PRIMARY KEY AUTOINCREMENT)')
            top = self.db.execute_sql('SELECT MAX(grid_engine_jobid) FROM "PluginResultJob"').fetchone()[0] or 0
            seq = self.db.execute_sql(f'SELECT MAX(id) FROM "{SEQUENCE_TABLE}"').fetchone()[0] or 0
            if top > seq:
                self.db.execute_sql(f'INSERT INTO "{SEQUENCE_TABLE}" (id) VALUES (?)', (int(top),))
        self._sequence_ready = True

    def plugins_changed(self) -> None:
        """A plugin was installed, upgraded, uninstalled or rescanned: forget what was read from plugin files."""
        self.languages.clear()
        self._plugin_generation += 1

    # ---- settings ------------------------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        return int(self.settings.get("plugin_slots", 1) or 1)

    # ---- the tick ------------------------------------------------------------------------------------------
    def _active_jobs(self) -> List[dict]:
        """Active jobs this server queued, in submission order.

        A long queue is read every tick, so only the few columns that change are read each time;
        a job's full row (with its parsed hold rules) is read once while it stays in the same state.
        The rows handed out are the remembered ones: what the tick changes in them is what it wrote to
        the database (a job it started), or a state that differs from the stored one ("done"), which has
        the row read again if it is still active.
        """
        # Rows without an executor were written through the API, not queued here: like the real
        # server, the scheduler leaves them as the client wrote them.
        light = self.db.execute_sql(
            f'SELECT id, state, external_id FROM "PluginResultJob" WHERE state IN {ACTIVE_SQL} '
            f'AND executor IS NOT NULL ORDER BY grid_engine_jobid').fetchall()
        missing = [pk for pk, state, external in light
                   if (cached := self._rows.get(pk)) is None or (cached["state"], cached["external_id"]) !=
                   (state, external)]
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in fetch(self.store, "PluginResultJob", f"id IN ({marks})", chunk):
                self._rows[row["id"]] = row
        self._rows = {pk: self._rows[pk] for pk, _, _ in light if pk in self._rows}
        return [self._rows[pk] for pk, _, _ in light if pk in self._rows]

    def tick(self, now: Optional[float] = None) -> int:
        """One pass: refill the slots of ended jobs, finish those, start what else may start. Returns how many
        jobs are still active."""
        with self._lock:
            if not self._recovered:
                self._recover_locked()
            jobs = self._active_jobs()
            self._forget_prepared(self._rows)
            self._keep_reports()
            self._validation_done = {}
            started = [j for j in jobs if j["state"] == _STARTED]
            # A job whose process has exited frees its slot at once: the freed slots are refilled first,
            # and the ended jobs are finished (usage, leftovers, their rows) after that. A job that waits
            # for one of them still waits until it is finished.
            exited = sum(1 for j in started if self._exited(j))
            running = self._start_queued(jobs, len(started) - exited, now) if exited else 0
            finished = 0
            for job in started:
                if self._poll_one(job, now):
                    job["state"] = "done"
                    finished += 1
                else:
                    running += 1
            if not exited or (finished and running < self.slots):
                self._start_queued(jobs, running, now)
            live = [j for j in jobs if j["state"] != "done"]
            self._release_strays({j.get("external_id") for j in live})
            if not live:
                self._interval = IDLE_INTERVAL
            elif self._exits_wake and all(j["state"] == _STARTED for j in live):
                # Nothing waits for a slot, and a job's end wakes the loop: what is left to do (usage
                # samples, time limits, a cancel written by another process) can wait a quarter second.
                self._interval = WATCH_INTERVAL
            else:
                self._interval = BUSY_INTERVAL
            return len(live)

    def _keep_reports(self) -> None:
        """Forget the reports read for job files, unless this is the scheduler's own thread and nothing was
        committed by another connection since they were read (SQLite's ``data_version``; only the
        scheduler writes through this thread's connection, and never to a report). Either way they are
        read again after ``REPORTS_KEPT`` seconds: they hold what was read from the report folder too."""
        mark = (self._thread is not None and threading.current_thread() is self._thread,
                self.db.execute_sql("PRAGMA data_version").fetchone()[0])
        if not mark[0] or self._reports_read[:2] != mark or time.monotonic() - self._reports_read[2] > REPORTS_KEPT:
            self._reports, self._reports_read = {}, (*mark, time.monotonic())

    def _start_queued(self, jobs: List[dict], running: int, now: Optional[float]) -> int:
        """Start queued jobs in order while slots and memory allow; returns how many were started."""
        queued = [j for j in jobs if j["state"] in _WAITING]
        if not queued:
            return 0
        started = 0
        active_ids = _HoldIds(jobs)
        results = _Lazy(lambda: self._result_of([j["plugin_result_id"] for j in jobs]))
        for index, job in enumerate(queued):
            if self._awaiting_validation(job, now):
                if job["state"] == "done":
                    active_ids.changed()
                continue
            if running + started >= self.slots:
                self._ahead(queued[index:], jobs, active_ids, results)
                break
            if not self._runnable(job, jobs, active_ids, results):
                continue
            if not self._memory_ok():
                log.info("(%s) waiting: less than %s MB memory available", job["grid_engine_jobid"],
                         self.settings.get("plugin_memory_floor_mb"))
                break
            if self._start_one(job, now):
                started += 1
            # Grid Engine may have given it a new number (a hold may name that one too), or it ended.
            active_ids.changed()
        return started

    def _exited(self, job: dict) -> bool:
        try:
            return bool(job.get("external_id")) and self.executor.exited(job["external_id"])
        except Exception:
            return False

    def _ahead(self, waiting: List[dict], jobs: List[dict], active_ids: _HoldIds, results: "_Lazy") -> None:
        """Every slot is busy: write the files of the next jobs that could start (validated, holds clear)."""
        for job in waiting:
            if len(self._prepared) >= AHEAD:
                return
            if not (job.get("executor_meta") or {}).get("validate") and self._runnable(job, jobs, active_ids,
                                                                                       results):
                self._prepare_ahead(job)

    def _awaiting_validation(self, job: dict, now: Optional[float]) -> bool:
        """Whether the job may not start yet because its plugin's custom_validation runs or refused it.

        Validation runs in a worker (started here, on first sight); when it refuses, the messages go to
        the plugin result (shown as Failed Validation) and the launch's queued jobs end Declined.
        """
        meta = job.get("executor_meta") or {}
        token = meta.get("validate")
        if not token:
            return False
        key = (job["plugin_result_id"], token)
        errors = self._validation_done.get(key)
        if errors is None:
            plugin = meta.get("plugin") or {}
            errors = self.validations.result(key, plugin.get("path", ""), plugin.get("name", ""),
                                             job.get("config") or {}, meta.get("run_mode", "manual"))
            if errors is None:
                return True
            self._validation_done[key] = errors
            self._record_validation(job, token, errors, now)
        if errors:
            job["state"] = "done"
            return True
        meta["validate"] = None
        return False

    def _record_validation(self, job: dict, token: str, errors: List[str], now: Optional[float]) -> None:
        pr_id = job["plugin_result_id"]
        same_launch = f"plugin_result_id = ? AND state IN {ACTIVE_SQL} AND json_extract(executor_meta, '$.validate') = ?"
        with self.store.write():
            if errors:
                declined = self.db.rows_affected(self.db.execute_sql(
                    f'UPDATE "PluginResultJob" SET state = ?, endtime = ?, reason = ? WHERE {same_launch}',
                    (JobState.DECLINED.value, now_text(self.clock, now),
                     "failed validation: " + "; ".join(errors), pr_id, token)))
                if declined:
                    self.db.execute_sql('UPDATE "pluginresult" SET validation_errors = ? WHERE id = ?',
                                        (json.dumps({"validation_errors": errors}), pr_id))
                    log.info("(%s) %s failed validation: %s", job["grid_engine_jobid"],
                             (job.get("executor_meta") or {}).get("plugin", {}).get("name"), "; ".join(errors))
            else:
                self.db.execute_sql(f'UPDATE "PluginResultJob" SET executor_meta = json_set(executor_meta, '
                                    f"'$.validate', NULL) WHERE {same_launch}", (pr_id, token))
        # The cached rows of this launch are stale now; read them again next tick.
        for pk in [pk for pk, row in self._rows.items() if row.get("plugin_result_id") == pr_id]:
            self._rows.pop(pk, None)

    def _result_of(self, pr_ids) -> Dict[int, int]:
        ids = sorted({i for i in pr_ids if i is not None})
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self.db.execute_sql(f'SELECT id, result_id FROM "pluginresult" WHERE id IN ({marks})',
                                        ids).fetchall())

    def _runnable(self, job: dict, jobs: List[dict], active_ids: _HoldIds, results: "_Lazy") -> bool:
        meta = job.get("executor_meta") or {}
        if any(h in active_ids for h in meta.get("hold", [])):
            return False
        if meta.get("serial"):
            results = results.value
            mine = results.get(job["plugin_result_id"])
            for other in jobs:
                if other is job or other["state"] == "done":
                    continue
                if _queued_as(other) < _queued_as(job) and \
                        results.get(other["plugin_result_id"]) == mine:
                    return False
        return True

    def _memory_ok(self) -> bool:
        floor = float(self.settings.get("plugin_memory_floor_mb", 0) or 0)
        return not floor or psutil.virtual_memory().available >= floor * 1024 * 1024

    # ---- the thread ----------------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        """Recover, then tick in a daemon thread until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        try:
            self.recover()
        except Exception:
            log.exception("recovery at start failed")
        self._halt.clear()
        self._thread = threading.Thread(target=self._loop, name="torrentlite-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._halt.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
                self._interval = BUSY_INTERVAL
            self._wake.wait(self._interval)
            self._wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and join it; running jobs keep running and are recovered at the next start."""
        self._halt.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.validations.close()

    def run_until_idle(self, timeout: float = 60.0, interval: float = BUSY_INTERVAL) -> bool:
        """Tick in the calling thread until no job is active (the CLI and tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.tick() == 0:
                return True
            time.sleep(interval)
        return False


__all__ = ["RunLevelScheduler", "LaunchError", "dir_usage", "SEQUENCE_TABLE"]
