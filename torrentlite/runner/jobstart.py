"""Starting a queued job: its startplugin.json, barcodes.json and launch script, then the executor."""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from torrentlite.store.paths import plugin_folder_name

from .executor import ExecutorUnavailable, JobSpec, Limits
from .fsio import ensure_dir, read_text, write_atomic
from .inspect import PLUGINLIB
from .jobend import ACTIVE_SQL, now_text
from .jobtexts import JobValues
from .launchscript import launch_args
from .legacy_env import legacy_python, missing_message
from .startplugin import BARCODES_NAME, build_barcodes, build_startplugin, fetch_one, json_text, load_report
from .states import JobState, RunLevel

log = logging.getLogger("torrentlite.scheduler")


# Jobs whose files are written while every slot is busy, so that a freed slot is refilled at once.
AHEAD = 2


@dataclass
class _Prepared:
    """A queued job's written files and spec, and what they were made from."""

    row: dict               # the remembered row object: a job read again (its state moved) is prepared again
    spec: JobSpec
    meta: dict
    made_under: tuple       # (thread, data_version, plugin generation, settings) at the time


class Starting:
    """The scheduler's start side: files for one run level, submission, and the Started row.

    While every slot is busy the next queued jobs' files are written ahead (complete files, no row
    written). Such a job starts from them only if nothing they were made from may have changed: its row
    was not read again, no other connection has committed since (SQLite's ``data_version``), no plugin was
    installed or rescanned and the settings are the same; otherwise its files are written again then.
    """

    def _limits(self) -> Limits:
        wall = float(self.settings.get("plugin_wall_limit", 0) or 0)
        memory = float(self.settings.get("plugin_memory_limit_mb", 0) or 0)
        return Limits(wall_seconds=wall or None, memory_bytes=int(memory * 1024 * 1024) or None,
                      nice=int(self.settings.get("plugin_nice", 10)))

    def _made_under(self) -> tuple:
        version = self.db.execute_sql("PRAGMA data_version").fetchone()[0]
        return threading.get_ident(), version, self._plugin_generation, dict(self.settings)

    def _prepare_ahead(self, job: dict) -> None:
        """Write a queued job's files now, while its slot is not yet free (see the class docstring)."""
        if job["id"] in self._prepared or len(self._prepared) >= AHEAD:
            return
        made_under = self._made_under()
        meta = dict(job.get("executor_meta") or {})
        try:
            with self.store.read():
                spec = self._prepare_files(job, meta)
        except Exception:
            return          # its start prepares it again and records what went wrong
        self._prepared[job["id"]] = _Prepared(job, spec, meta, made_under)

    def _forget_prepared(self, active: dict) -> None:
        """Drop what was prepared for jobs no longer active as they were (cancelled, deleted, read again)."""
        for pk in [pk for pk, ready in self._prepared.items() if active.get(pk) is not ready.row]:
            del self._prepared[pk]

    def _start_one(self, job: dict, now: Optional[float]) -> bool:
        jobid = job["grid_engine_jobid"]
        ready = self._prepared.pop(job["id"], None)
        if ready is not None and ready.row is job and ready.made_under == self._made_under():
            spec, meta = ready.spec, ready.meta
        else:
            spec = None
        try:
            if spec is None:
                meta = dict(job.get("executor_meta") or {})
                # One read transaction for the dozen reads of a start: one snapshot, one lock taken.
                with self.store.read():
                    spec = self._prepare_files(job, meta)
        except Exception as exc:
            log.exception("(%s) could not prepare the job", jobid)
            self._finish(job, JobState.ERROR, reason=f"launch failed: {exc}", now=now)
            job["state"] = "done"
            return False
        stamp = now_text(self.clock, now)
        with self.store.write():
            self.db.execute_sql('UPDATE "PluginResultJob" SET submitted = ? WHERE id = ?', (stamp, job["id"]))
        try:
            external = self.executor.submit(spec)
            described = self.executor.describe(external)
        except ExecutorUnavailable as exc:
            log.error("(%s) submission failed: %s", jobid, exc)
            self._finish(job, JobState.ERROR, reason=f"submission failed: {exc}", now=now)
            job["state"] = "done"
            return False
        except Exception as exc:
            log.exception("(%s) submission failed", jobid)
            self._finish(job, JobState.ERROR, reason=f"submission failed: {exc}", now=now)
            job["state"] = "done"
            return False
        meta["executor"] = described
        # On Grid Engine the row takes the cluster's job number (JOB_ID inside the job), as in Torrent Suite;
        # holds keep naming the number the job was queued under (see scheduler._hold_ids).
        grid_id = int(described.get("grid_engine_jobid") or jobid)
        if grid_id != jobid:
            meta["queued_as"] = jobid
        with self.store.write():
            self.db.execute_sql(
                f'UPDATE "PluginResultJob" SET state = ?, starttime = ?, external_id = ?, executor = ?, '
                f'executor_meta = ?, grid_engine_jobid = ? WHERE id = ? AND state IN {ACTIVE_SQL}',
                (JobState.STARTED.value, stamp, external, self.executor.name, json.dumps(meta), grid_id,
                 job["id"]))
        job.update(state=JobState.STARTED.value, external_id=external, executor_meta=meta,
                   grid_engine_jobid=grid_id)
        log.info("(%s) started %s level %s in %s", jobid, meta.get("plugin", {}).get("name"), meta.get("level"),
                 meta.get("results_dir"))
        return True

    def _prepare_files(self, job: dict, meta: dict) -> JobSpec:
        """Write startplugin.json, barcodes.json and the launch script for this level; return the job spec."""
        # Jobs starting in one tick are often several plugins of one report: read it once per tick.
        if meta["result"] not in self._reports:
            self._reports[meta["result"]] = load_report(self.store, meta["result"])
        rep = self._reports[meta["result"]]
        if rep is None:
            raise RuntimeError("the result no longer exists")
        entry = dict(meta["plugin"])
        pr = fetch_one(self.store, "pluginresult", job["plugin_result_id"]) or {}
        results_dir = meta["results_dir"]
        ensure_dir(results_dir)
        values = JobValues(results_dir, plugin_folder_name(entry["name"], job["plugin_result_id"]),
                           job["plugin_result_id"], pr.get("apikey") or "")
        net_location = self._net_location(rep)

        def startplugin(v: JobValues) -> dict:
            # The plugin entry names the job's main folder and plugin result too.
            plugin = dict(entry)
            if isinstance(plugin.get("results_dir"), str):
                plugin["results_dir"] = values.place(plugin["results_dir"], v.folder)
            if "pluginresult" in plugin:
                plugin["pluginresult"] = v.pluginresult
            return build_startplugin(
                self.store, rep, plugin=plugin, level=meta["level"], results_dir=v.results_dir,
                run_mode=meta["run_mode"], pluginconfig=job.get("config") or {}, net_location=net_location,
                username=meta["user"], pluginresult=v.pluginresult, api_key=v.api_key, block_id=meta.get("block"),
                depends=meta.get("depends"))
        barcodes = None
        if meta["level"] != RunLevel.PRE.value:
            try:
                # Its text, like the report, is the same for every job of the report in this tick.
                if ("barcodes", meta["result"]) not in self._reports:
                    built = build_barcodes(self.store, rep)
                    self._reports[("barcodes", meta["result"])] = None if built is None else json_text(built)
                barcodes = self._reports[("barcodes", meta["result"])]
            except Exception:
                log.exception("(%s) barcodes.json could not be built", job["grid_engine_jobid"])
        if barcodes is not None:
            write_atomic(os.path.join(results_dir, BARCODES_NAME), barcodes.encode("utf-8"))
        name, path = entry["name"], entry["path"]
        language = self.languages.language(path, name)
        python2_why = self.languages.python2_reason(path, name)
        launch_sh = None
        if language == "bash":
            launch_sh = read_text(os.path.join(path, "launch.sh"))
        # Resolved once: every resolution walks the whole path.
        data_path = getattr(self.settings, "data_path", None)
        legacy = legacy_python(data_path) if python2_why and data_path is not None else None
        if python2_why and legacy is None:
            meta["launch_error"] = missing_message(name, python2_why)
        script = self._job_texts.write(values, startplugin, dict(
            plugin_name=name, plugin_dir=Path(path), entry=language, launch_sh_text=launch_sh, pluginlib_dir=PLUGINLIB,
            scratch_dir=data_path / "plugins" / "scratch" if data_path else None,
            reference_root=Path(data_path) / "referenceLibrary" if data_path else None,
            legacy_python=legacy, python2_missing=meta.get("launch_error")))
        # The script lies in the resolved results folder: its arguments need no second resolution.
        return JobSpec(job_id=int(job["grid_engine_jobid"]), name=name, script=script,
                       args=launch_args(script.parent, resolve=False), workdir=Path(results_dir),
                       limits=self._limits())

    def _net_location(self, rep) -> str:
        web_root = (rep.globalconfig.get("web_root") or "").rstrip("/")
        if web_root:
            return web_root
        try:
            return self.settings.net_location
        except (AttributeError, KeyError):
            return "http://127.0.0.1"

