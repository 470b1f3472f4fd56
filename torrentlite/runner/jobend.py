"""Ending jobs: polling, terminal states with usage and output size, cancel, delete, restart recovery."""
from __future__ import annotations

import json
import logging
import os
import shutil
from typing import Callable, Dict, Optional

from torrentlite.store.fields import stored_datetime
from torrentlite.store.paths import is_inside, plugin_output_dir

from .executor import UnknownJob
from .fsio import read_bytes
from .startplugin import fetch, fetch_one, load_report
from .states import ACTIVE, JobState, RunLevel

log = logging.getLogger("torrentlite.scheduler")

ACTIVE_SQL = "(" + ",".join(f"'{s.value}'" for s in ACTIVE) + ")"


def now_text(clock: Callable[[], float], now: Optional[float] = None) -> str:
    from datetime import datetime, timezone
    return stored_datetime(datetime.fromtimestamp(clock() if now is None else now, timezone.utc))


def _usage_doc(usage, exit_code) -> dict:
    return {"wall_seconds": round(usage.wall_seconds, 3), "cpu_seconds": round(usage.cpu_seconds, 3),
            "peak_rss_bytes": int(usage.peak_rss_bytes), "exit_code": exit_code}


def dir_usage(path: str) -> tuple:
    """(bytes, regular files) below ``path``, symbolic links neither followed nor counted; (-1, -1) when it
    cannot be read."""
    if not os.path.isdir(path):
        return -1, -1
    size = count = 0
    folders = [path]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    # The kind comes with the listing: only a file's size costs a system call.
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif not entry.is_symlink():
                        size += entry.stat(follow_symlinks=False).st_size
                        count += 1
                except OSError:
                    continue
    return size, count

class Finishing:
    """The scheduler's end side: finishing polled jobs, cancel and delete, and recovery after a restart."""

    def _poll_one(self, job: dict, now: Optional[float]) -> bool:
        """Poll a started job; finish it when it ended. True when it is no longer active."""
        external = job.get("external_id")
        try:
            status = self.executor.poll(external)
        except UnknownJob:
            meta = (job.get("executor_meta") or {}).get("executor") or {}
            status = self.executor.recover(external, meta) if external else None
            if status is None:
                self._finish(job, JobState.ERROR, reason="job was never submitted", now=now)
                return True
            if not status.finished:
                log.info("(%s) re-attached to the running job", job["grid_engine_jobid"])
        if not status.finished:
            return False
        self._finish(job, status.state, status.exit_code, status.reason, status.usage, now=now)
        self.executor.forget(external)
        return True

    def _finish(self, job: dict, state: JobState, exit_code: Optional[int] = None, reason: str = "",
                usage=None, now: Optional[float] = None) -> bool:
        """Record a terminal state (only over an active one), usage, results.json and output size."""
        meta = job.get("executor_meta") or {}
        if meta.get("launch_error") and JobState(state) is JobState.ERROR:
            reason = meta["launch_error"]
        results_dir = meta.get("results_dir") or ""
        main_dir = os.path.dirname(results_dir) if meta.get("level") == RunLevel.POST.value else results_dir
        store = None
        try:
            store = json.loads(read_bytes(os.path.join(results_dir, "results.json")).decode("utf-8"))
        except (OSError, ValueError):
            store = None
        size, inodes = dir_usage(main_dir) if meta.get("level") != RunLevel.BLOCK.value else (None, None)
        usage_doc = _usage_doc(usage, exit_code) if usage is not None else None
        with self.store.write():
            changed = self.db.rows_affected(self.db.execute_sql(
                f'UPDATE "PluginResultJob" SET state = ?, endtime = ?, usage = ?, reason = ? '
                f'WHERE id = ? AND state IN {ACTIVE_SQL}',
                (JobState(state).value, now_text(self.clock, now), json.dumps(usage_doc) if usage_doc else None,
                 reason or None, job["id"])))
            if changed and job.get("plugin_result_id") is not None:
                if store:
                    self.db.execute_sql('UPDATE "pluginresult" SET store = ? WHERE id = ?',
                                        (json.dumps(store), job["plugin_result_id"]))
                if size is not None:
                    self.db.execute_sql('UPDATE "pluginresult" SET size = ?, inodes = ? WHERE id = ?',
                                        (size, inodes, job["plugin_result_id"]))
        if changed:
            log.info("(%s) %s%s", job["grid_engine_jobid"], JobState(state).value, f": {reason}" if reason else "")
        return bool(changed)

    # ---- cancel, delete ------------------------------------------------------------------------------------
    def cancel(self, pluginresult_pk: int, grace: float = 5.0) -> int:
        """Stop every active job of a plugin result (its process tree is killed); returns how many."""
        with self._lock:
            jobs = fetch(self.store, "PluginResultJob", f"plugin_result_id = ? AND state IN {ACTIVE_SQL}",
                         (int(pluginresult_pk),))
            started = []
            for job in jobs:
                if job["state"] == JobState.STARTED.value and job.get("external_id"):
                    started.append(job)
                    # Until its usage is recorded below, the tick must not release (and so forget) it.
                    self._cancelling.add(job["external_id"])
                else:
                    self._finish(job, JobState.CANCELLED, reason="cancelled before it started")
        for job in started:
            # Recorded before the kill: a scheduler in another process (the server, when this is the
            # CLI) then stops watching the job instead of recording the launch script's own "Error".
            with self._lock:
                self._finish(job, JobState.CANCELLED, reason="cancelled by request")
            try:
                self._attach(job)
                self.executor.cancel(job["external_id"], grace)
                usage = self.executor.poll(job["external_id"]).usage
                if usage is not None:
                    self._record_usage(job["external_id"], usage, only_missing=False)
                self.executor.forget(job["external_id"])
            except UnknownJob:
                pass
            except Exception:
                log.exception("(%s) cancel failed", job["grid_engine_jobid"])
            finally:
                with self._lock:
                    self._cancelling.discard(job["external_id"])
        self._wake.set()
        return len(jobs)

    def _release_strays(self, active: set) -> None:
        """Forget (and reap) executor jobs no longer active in the database, e.g. stopped by the CLI.

        A job stopped elsewhere ended as this process's child: its usage is recorded here if the
        stopping side could not measure it.
        """
        for external in self.executor.known():
            if external not in active and external not in self._cancelling:
                try:
                    status = self.executor.poll(external)
                    if status.finished and status.usage is not None:
                        self._record_usage(external, status.usage, only_missing=True)
                    self.executor.forget(external)
                except UnknownJob:
                    pass
                except Exception:
                    log.exception("(%s) could not release the job", external)

    def _record_usage(self, external: str, usage, only_missing: bool) -> None:
        condition = " AND usage IS NULL" if only_missing else ""
        with self.store.write():
            self.db.execute_sql(f'UPDATE "PluginResultJob" SET usage = ? WHERE external_id = ?{condition}',
                                (json.dumps(_usage_doc(usage, None)), external))

    def _attach(self, job: dict) -> None:
        """Make the executor know a job another process (or a previous run of this one) started."""
        try:
            self.executor.poll(job["external_id"])
        except UnknownJob:
            meta = (job.get("executor_meta") or {}).get("executor") or {}
            self.executor.recover(job["external_id"], meta)

    def delete(self, pluginresult_pk: int) -> bool:
        """Cancel, then remove a plugin result row and its main folder (only inside the report folder)."""
        pr = fetch_one(self.store, "pluginresult", int(pluginresult_pk))
        if pr is None:
            return False
        self.cancel(pr["id"], grace=2.0)
        rep = load_report(self.store, pr["result_id"])
        plugin = fetch_one(self.store, "plugin", pr["plugin_id"]) or {}
        with self.store.write():
            self.db.execute_sql('DELETE FROM "PluginResultJob" WHERE plugin_result_id = ?', (pr["id"],))
            self.db.execute_sql('DELETE FROM "pluginresult" WHERE id = ?', (pr["id"],))
        if rep is not None and rep.dir and plugin.get("name"):
            folder = plugin_output_dir(rep.dir, plugin["name"], pr["id"])
            if is_inside(folder, os.path.join(rep.dir, "plugin_out")) and os.path.isdir(folder) \
                    and not os.path.islink(folder):
                shutil.rmtree(folder, ignore_errors=True)
        return True

    # ---- restart safety ------------------------------------------------------------------------------------
    def recover(self) -> Dict[str, int]:
        """Reconcile active rows after a restart: re-attach live jobs, close vanished ones, keep Queued ones."""
        with self._lock:
            return self._recover_locked()

    def _recover_locked(self) -> Dict[str, int]:
        counts = {"reattached": 0, "finished": 0, "queued": 0}
        self._recovered = True
        for job in self._active_jobs():
            jobid = job["grid_engine_jobid"]
            meta = job.get("executor_meta") or {}
            if job["state"] != JobState.STARTED.value and not job.get("submitted"):
                counts["queued"] += 1
                continue
            if not job.get("external_id"):
                self._finish(job, JobState.ERROR, reason="server stopped while the job was being submitted")
                counts["finished"] += 1
                continue
            try:
                status = self.executor.recover(job["external_id"], meta.get("executor") or {})
            except Exception as exc:
                log.exception("(%s) recovery failed", jobid)
                self._finish(job, JobState.ERROR, reason=f"could not recover after restart: {exc}")
                counts["finished"] += 1
                continue
            if status.finished:
                self._finish(job, status.state, status.exit_code, status.reason, status.usage)
                counts["finished"] += 1
            else:
                log.info("(%s) re-attached after restart", jobid)
                counts["reattached"] += 1
        return counts

