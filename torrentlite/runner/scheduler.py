"""RunLevelScheduler: plugin launches become queued jobs; one testable tick starts, polls and finishes them."""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import psutil

from torrentlite.store.fields import stored_datetime
from torrentlite.store.paths import is_inside, plugin_output_dir

from .executor import Executor, ExecutorUnavailable, JobSpec, Limits, UnknownJob
from .inspect import PLUGINLIB, compare_versions
from .language import LanguageCache
from .launchscript import launch_args, render_launch_script, write_startplugin
from .legacy_env import legacy_python, missing_message
from .startplugin import (BARCODES_NAME, build_barcodes, build_startplugin, fetch, fetch_one, load_report,
                          plan_entry, plugin_config, write_json)
from .states import ACTIVE, FAILED_VALIDATION, JobState, RunLevel
from .validate import ValidationQueue

log = logging.getLogger("torrentlite.scheduler")

SEQUENCE_TABLE = "torrentlite_jobid"
_ACTIVE_SQL = "(" + ",".join(f"'{s.value}'" for s in ACTIVE) + ")"
BUSY_INTERVAL = 0.01      # seconds between ticks while jobs are queued or running
IDLE_INTERVAL = 5.0       # seconds between ticks with nothing to do (launches wake the loop at once)


class LaunchError(Exception):
    """A launch request that cannot be honoured; ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _now_text(clock: Callable[[], float], now: Optional[float] = None) -> str:
    from datetime import datetime, timezone
    return stored_datetime(datetime.fromtimestamp(clock() if now is None else now, timezone.utc))


def _usage_doc(usage, exit_code) -> dict:
    return {"wall_seconds": round(usage.wall_seconds, 3), "cpu_seconds": round(usage.cpu_seconds, 3),
            "peak_rss_bytes": int(usage.peak_rss_bytes), "exit_code": exit_code}


def dir_usage(path: str) -> tuple:
    """(bytes, regular files) below ``path``; (-1, -1) when it cannot be read."""
    size = count = 0
    if not os.path.isdir(path):
        return -1, -1
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if not os.path.islink(os.path.join(root, name)):
                size += st.st_size
                count += 1
    return size, count


def _topo(names: List[str], depends: Dict[str, List[str]]) -> List[str]:
    """Dependencies before dependants (DFS post-order; cycles broken where found)."""
    out, seen = [], set()

    def visit(name, stack):
        if name in seen or name in stack:
            return
        for dep in depends.get(name, []):
            if dep in depends:
                visit(dep, stack | {name})
        seen.add(name)
        out.append(name)
    for name in names:
        visit(name, frozenset())
    return [n for n in out if n in names]


def _queued_as(job: dict) -> int:
    """The job id a job was queued under (holds name it), even after Grid Engine gave the row its own."""
    return int((job.get("executor_meta") or {}).get("queued_as") or job["grid_engine_jobid"])


def _hold_ids(jobs: List[dict]) -> set:
    """Ids a queued job's holds may name, of every job still active: queued-under ids and current ones."""
    live = [j for j in jobs if j["state"] != "done"]
    return {j["grid_engine_jobid"] for j in live} | {_queued_as(j) for j in live}


class RunLevelScheduler:
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
        self._busy = False
        self._recovered = False
        self.languages = LanguageCache()
        data_path = getattr(settings, "data_path", None)
        self.validations = ValidationQueue(
            self.languages, legacy_python=lambda: legacy_python(data_path) if data_path is not None else None)
        self.validations.on_done = self._wake.set
        self._validation_done: Dict[tuple, List[str]] = {}
        self._cancelling: set = set()
        self._rows: Dict[int, dict] = {}
        self._reports: dict = {}
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

    # ---- settings ------------------------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        return int(self.settings.get("plugin_slots", 1) or 1)

    def _limits(self) -> Limits:
        wall = float(self.settings.get("plugin_wall_limit", 0) or 0)
        memory = float(self.settings.get("plugin_memory_limit_mb", 0) or 0)
        return Limits(wall_seconds=wall or None, memory_bytes=int(memory * 1024 * 1024) or None,
                      nice=int(self.settings.get("plugin_nice", 10)))

    def _next_jobid(self) -> int:
        cursor = self.db.execute_sql(f'INSERT INTO "{SEQUENCE_TABLE}" DEFAULT VALUES')
        jobid = self.db.last_insert_id(cursor)
        self.db.execute_sql(f'DELETE FROM "{SEQUENCE_TABLE}" WHERE id < ?', (jobid,))
        return int(jobid)

    # ---- launching -----------------------------------------------------------------------------------------
    def find_plugin(self, ref) -> dict:
        """An enabled plugin by name (newest version), id, or ``[name, …]`` (first); LaunchError 410 otherwise."""
        if isinstance(ref, (list, tuple)):
            ref = ref[0] if ref else None
        if isinstance(ref, dict):
            ref = ref.get("name") or ref.get("id")
        if isinstance(ref, bool) or ref is None or ref == "":
            raise LaunchError("Plugin not specified", 410)
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit() and not self._by_name(ref)):
            rows = fetch(self.store, "plugin", "id = ? AND active = 1 AND selected = 1", (int(ref),))
        else:
            rows = self._by_name(str(ref))
        rows = [r for r in rows if r.get("path")]
        if not rows:
            raise LaunchError(f"Invalid plugin specified: {ref}", 410)
        best = rows[0]
        for row in rows[1:]:
            if compare_versions(str(row.get("version") or ""), str(best.get("version") or "")) > 0:
                best = row
        return best

    def _by_name(self, name: str) -> List[dict]:
        return fetch(self.store, "plugin", "name = ? AND active = 1 AND selected = 1", (name,))

    def _entry(self, rep, plugin: dict) -> dict:
        settings = plugin.get("pluginsettings") or {}
        plan = plan_entry(rep, plugin["name"])
        entry = {"name": plugin["name"], "path": plugin.get("path") or "", "version": plugin.get("version") or "",
                 "id": plugin["id"], "pluginconfig": dict(plugin.get("config") or {}),
                 "userInput": plan.get("userInput", "") if plan else ""}
        if plan.get("version"):
            entry["planning_version"] = plan["version"]
        for key in ("features", "runtypes", "runlevels", "depends"):
            value = settings.get(key) or []
            entry[key] = [str(v).lower() if key in ("runtypes", "runlevels") else v for v in value] \
                if isinstance(value, list) else [value]
        entry["runlevels"] = entry["runlevels"] or [RunLevel.DEFAULT.value]
        entry["hold_jid"] = []
        return entry

    def launch(self, result_pk: int, plugins: Sequence, *, run_mode: str = "manual",
               pluginconfig: Optional[dict] = None, pluginresult: Optional[int] = None,
               user: str = "ionadmin") -> List[dict]:
        """Queue ``plugins`` (names, ids or rows) on result ``result_pk`` through every run level.

        :return: one dict per plugin: ``{"plugin", "pluginresult", "jobs": [job ids], "state"}``.
        :raises LaunchError: unknown result (404) or plugin (410), or a ``pluginresult`` of another report.
        """
        rep = load_report(self.store, int(result_pk))
        if rep is None:
            raise LaunchError(f"No result with id {result_pk}", 404)
        rows = [p if isinstance(p, dict) and "id" in p and "path" in p else self.find_plugin(p) for p in plugins]
        entries = [self._entry(rep, row) for row in rows]
        if run_mode == "pipeline":
            kind = rep.report_type
            entries = [e for e in entries
                       if (kind in e["runtypes"] if e["runtypes"] else kind in ("wholechip", "thumbnail"))]
        if pluginresult is not None:
            pr = fetch_one(self.store, "pluginresult", int(pluginresult))
            if pr is None or pr["result_id"] != rep.pk or len(entries) != 1 or pr["plugin_id"] != entries[0]["id"]:
                raise LaunchError(f"Plugin result {pluginresult} does not belong to this report and plugin", 400)
        owner = self._owner(user)
        by_name = {e["name"]: e for e in entries}
        order = _topo([e["name"] for e in entries], {e["name"]: list(e["depends"]) for e in entries})
        order = [n for n in order if "export" not in by_name[n]["features"]] + \
                [n for n in order if "export" in by_name[n]["features"]]
        satisfied = self._satisfied(rep.pk, {d for e in entries for d in e["depends"]} - set(by_name))
        blocks = rep.block_dirs()
        out: Dict[str, dict] = {}
        self._ensure_sequence()
        with self.store.write():
            for level in RunLevel:
                for name in order:
                    entry = by_name[name]
                    if level.value not in entry["runlevels"] or out.get(name, {}).get("state") == FAILED_VALIDATION:
                        continue
                    if level is RunLevel.BLOCK and not blocks:
                        continue
                    if name not in out:
                        out[name] = self._prepare(rep, entry, owner, run_mode, pluginconfig,
                                                  pluginresult if pluginresult is not None else None)
                        if out[name]["state"] == FAILED_VALIDATION:
                            continue
                    for block in (blocks if level is RunLevel.BLOCK else [None]):
                        jobid = self._queue(rep, entry, level, block, out[name], by_name, satisfied, user,
                                            run_mode)
                        out[name]["jobs"].append(jobid)
        self._wake.set()
        return list(out.values())

    def launch_pipeline(self, result_pk: int, user: str = "ionadmin") -> List[dict]:
        """Queue the plan-selected, enabled plugins of result ``result_pk`` through all run levels."""
        rep = load_report(self.store, int(result_pk))
        if rep is None:
            raise LaunchError(f"No result with id {result_pk}", 404)
        selected = rep.eas.get("selectedPlugins") or {}
        rows = []
        for name in selected if isinstance(selected, dict) else []:
            try:
                rows.append(self.find_plugin(name))
            except LaunchError:
                log.info("result %s: plan-selected plugin %s is not installed or not enabled", result_pk, name)
        return self.launch(result_pk, rows, run_mode="pipeline", user=user) if rows else []

    def _owner(self, username: str) -> int:
        row = self.db.execute_sql('SELECT id FROM "user" WHERE username = ?', (username,)).fetchone()
        row = row or self.db.execute_sql('SELECT id FROM "user" ORDER BY id LIMIT 1').fetchone()
        if row is None:
            raise LaunchError("No user to own the plugin result", 500)
        return int(row[0])

    def _satisfied(self, result_pk: int, names: Iterable[str]) -> Dict[str, dict]:
        found = {}
        for name in names:
            rows = self.db.execute_sql(
                'SELECT pr.id, p.version, j.grid_engine_jobid, j.state FROM "pluginresult" pr '
                'JOIN "plugin" p ON p.id = pr.plugin_id JOIN "PluginResultJob" j ON j.plugin_result_id = pr.id '
                'WHERE pr.result_id = ? AND p.name = ? ORDER BY pr.id DESC, j.grid_engine_jobid DESC',
                (result_pk, name)).fetchall()
            if rows and rows[0][3] in ("Completed", "Started", "Queued"):
                pr_id, version, jid, _state = rows[0]
                rep_dir = load_report(self.store, result_pk).dir
                found[name] = {"pluginresult": pr_id, "version": version, "jid": jid,
                               "pluginresult_path": plugin_output_dir(rep_dir, name, pr_id)}
        return found

    def _prepare(self, rep, entry: dict, owner: int, run_mode: str, instance: Optional[dict],
                 pluginresult: Optional[int]) -> dict:
        """Create or reuse the PluginResult, its folder and key; validate; return the launch record.

        A plugin's own custom_validation is not run here: its jobs are queued marked for validation,
        which the scheduler runs in a worker before they may start (see _awaiting_validation).
        """
        plugin = fetch_one(self.store, "plugin", entry["id"]) or {}
        config = self._config_for(entry, run_mode, instance)
        if pluginresult is None:
            pr_id = self.db.last_insert_id(self.db.execute_sql(
                'INSERT INTO "pluginresult" (size, inodes, store, validation_errors, result_id, owner_id, plugin_id)'
                ' VALUES (-1, -1, ?, ?, ?, ?, ?)', ("{}", "{}", rep.pk, owner, entry["id"])))
            apikey = None
        else:
            pr_id = int(pluginresult)
            apikey = (fetch_one(self.store, "pluginresult", pr_id) or {}).get("apikey")
        apikey = apikey or secrets.token_hex(20)
        errors = []
        if plugin.get("requires_configuration") and not config:
            errors.append(f"{entry['name']} requires configuration before execution.")
        self.db.execute_sql('UPDATE "pluginresult" SET apikey = ?, validation_errors = ? WHERE id = ?',
                            (apikey, json.dumps({"validation_errors": errors}), pr_id))
        results_dir = plugin_output_dir(rep.dir, entry["name"], pr_id)
        record = {"plugin": entry["name"], "pluginresult": pr_id, "jobs": [], "results_dir": results_dir,
                  "apikey": apikey, "config": config, "state": FAILED_VALIDATION if errors else JobState.QUEUED.value,
                  "validation_errors": errors,
                  "validate": secrets.token_hex(4) if ValidationQueue.needed(entry["path"], entry["name"]) else None}
        if errors:
            log.info("result %s: %s failed validation: %s", rep.pk, entry["name"], "; ".join(errors))
            return record
        os.makedirs(os.path.join(rep.dir, "plugin_out"), exist_ok=True)
        os.makedirs(results_dir, exist_ok=True)
        entry["results_dir"], entry["pluginresult"] = results_dir, pr_id
        return record

    @staticmethod
    def _config_for(entry: dict, run_mode: str, instance: Optional[dict]) -> dict:
        return plugin_config(instance if run_mode == "manual" else None, entry["pluginconfig"],
                             entry.get("userInput"), entry["path"])

    def _queue(self, rep, entry: dict, level: RunLevel, block: Optional[str], record: dict,
               by_name: Dict[str, dict], satisfied: Dict[str, dict], user: str, run_mode: str) -> int:
        """One Queued PluginResultJob with its holds (§3.5); returns its never-reused job id."""
        hold = []
        for dep in entry["depends"]:
            if by_name.get(dep, {}).get("jid"):
                hold.append(by_name[dep]["jid"])
            elif dep in satisfied:
                hold.append(satisfied[dep]["jid"])
        if entry.get("jid"):
            hold.append(entry["jid"])
        if level is RunLevel.POST:
            hold.extend(entry.get("block_jid", []))
        serial = level is RunLevel.LAST or "export" in entry["features"]
        if serial:
            hold.extend(e["jid"] for e in by_name.values() if e is not entry and e.get("jid"))
        entry["hold_jid"] = list(entry["hold_jid"]) + hold
        jobid = self._next_jobid()
        results_dir = record["results_dir"]
        if level is RunLevel.BLOCK:
            results_dir = plugin_output_dir(os.path.join(rep.dir, block), entry["name"], record["pluginresult"])
        elif level is RunLevel.POST:
            results_dir = os.path.join(results_dir, "post")
        depends = {}
        for dep in entry["depends"]:
            if dep in by_name and by_name[dep].get("pluginresult"):
                d = by_name[dep]
                depends[dep] = {"pluginresult": d["pluginresult"], "version": d["version"],
                                "pluginresult_path": d["results_dir"]}
            elif dep in satisfied:
                depends[dep] = satisfied[dep]
        meta = {"hold": sorted(set(hold)), "serial": serial, "level": level.value, "block": block,
                "results_dir": results_dir, "run_mode": run_mode, "user": user, "plugin": dict(entry),
                "depends": depends, "result": rep.pk, "validate": record.get("validate")}
        self.db.execute_sql(
            'INSERT INTO "PluginResultJob" (grid_engine_jobid, state, run_level, config, executor, executor_meta,'
            ' plugin_result_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
            (jobid, JobState.QUEUED.value, level.value, json.dumps(record["config"]), self.executor.name,
             json.dumps(meta), record["pluginresult"]))
        if level is RunLevel.BLOCK:
            entry.setdefault("block_jid", []).append(jobid)
        else:
            entry["jid"] = jobid
        log.info("(%s) queued %s level %s%s on result %s, holding for %s", jobid, entry["name"], level.value,
                 f" {block}" if block else "", rep.pk, meta["hold"])
        return jobid

    # ---- the tick ------------------------------------------------------------------------------------------
    def _active_jobs(self) -> List[dict]:
        """Active jobs this server queued, in submission order.

        A long queue is read every tick, so only the few columns that change are read each time;
        a job's full row (with its parsed hold rules) is read once while it stays in the same state.
        """
        # Rows without an executor were written through the API, not queued here: like the real
        # server, the scheduler leaves them as the client wrote them.
        light = self.db.execute_sql(
            f'SELECT id, state, external_id FROM "PluginResultJob" WHERE state IN {_ACTIVE_SQL} '
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
        return [dict(self._rows[pk]) for pk, _, _ in light if pk in self._rows]

    def tick(self, now: Optional[float] = None) -> int:
        """One pass: finish ended jobs, then start runnable ones. Returns how many jobs are still active."""
        with self._lock:
            if not self._recovered:
                self._recover_locked()
            jobs = self._active_jobs()
            self._reports = {}
            self._validation_done = {}
            running = 0
            for job in jobs:
                if job["state"] == JobState.STARTED.value:
                    if self._poll_one(job, now):
                        job["state"] = "done"
                    else:
                        running += 1
            queued = [j for j in jobs if j["state"] in (JobState.QUEUED.value, JobState.PENDING.value)]
            if queued:
                active_ids = _hold_ids(jobs)
                results = self._result_of([j["plugin_result_id"] for j in jobs])
                for job in queued:
                    if self._awaiting_validation(job, now):
                        if job["state"] == "done":
                            active_ids.discard(job["grid_engine_jobid"])
                        continue
                    if running >= self.slots:
                        break
                    if not self._runnable(job, jobs, active_ids, results):
                        continue
                    if not self._memory_ok():
                        log.info("(%s) waiting: less than %s MB memory available", job["grid_engine_jobid"],
                                 self.settings.get("plugin_memory_floor_mb"))
                        break
                    if self._start_one(job, now):
                        running += 1
                    active_ids = _hold_ids(jobs)
            self._release_strays({j.get("external_id") for j in jobs if j["state"] != "done"})
            remaining = sum(1 for j in jobs if j["state"] != "done")
            self._busy = remaining > 0
            return remaining

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
        same_launch = f"plugin_result_id = ? AND state IN {_ACTIVE_SQL} AND json_extract(executor_meta, '$.validate') = ?"
        with self.store.write():
            if errors:
                declined = self.db.rows_affected(self.db.execute_sql(
                    f'UPDATE "PluginResultJob" SET state = ?, endtime = ?, reason = ? WHERE {same_launch}',
                    (JobState.DECLINED.value, _now_text(self.clock, now),
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

    def _runnable(self, job: dict, jobs: List[dict], active_ids: set, results: Dict[int, int]) -> bool:
        meta = job.get("executor_meta") or {}
        if any(h in active_ids for h in meta.get("hold", [])):
            return False
        if meta.get("serial"):
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

    def _start_one(self, job: dict, now: Optional[float]) -> bool:
        jobid = job["grid_engine_jobid"]
        meta = dict(job.get("executor_meta") or {})
        try:
            spec = self._prepare_files(job, meta)
        except Exception as exc:
            log.exception("(%s) could not prepare the job", jobid)
            self._finish(job, JobState.ERROR, reason=f"launch failed: {exc}", now=now)
            job["state"] = "done"
            return False
        stamp = _now_text(self.clock, now)
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
        # holds keep naming the number the job was queued under (see _hold_ids).
        grid_id = int(described.get("grid_engine_jobid") or jobid)
        if grid_id != jobid:
            meta["queued_as"] = jobid
        with self.store.write():
            self.db.execute_sql(
                f'UPDATE "PluginResultJob" SET state = ?, starttime = ?, external_id = ?, executor = ?, '
                f'executor_meta = ?, grid_engine_jobid = ? WHERE id = ? AND state IN {_ACTIVE_SQL}',
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
        os.makedirs(results_dir, exist_ok=True)
        startplugin = build_startplugin(
            self.store, rep, plugin=entry, level=meta["level"], results_dir=results_dir, run_mode=meta["run_mode"],
            pluginconfig=job.get("config") or {}, net_location=self._net_location(rep), username=meta["user"],
            pluginresult=job["plugin_result_id"], api_key=pr.get("apikey") or "", block_id=meta.get("block"),
            depends=meta.get("depends"))
        write_startplugin(results_dir, startplugin)
        barcodes = None
        if meta["level"] != RunLevel.PRE.value:
            try:
                if ("barcodes", meta["result"]) not in self._reports:
                    self._reports[("barcodes", meta["result"])] = build_barcodes(self.store, rep)
                barcodes = self._reports[("barcodes", meta["result"])]
            except Exception:
                log.exception("(%s) barcodes.json could not be built", job["grid_engine_jobid"])
        if barcodes is not None:
            write_json(results_dir, BARCODES_NAME, barcodes)
        name, path = entry["name"], entry["path"]
        language = self.languages.language(path, name)
        python2_why = self.languages.python2_reason(path, name)
        launch_sh = None
        if language == "bash":
            launch_sh = Path(path, "launch.sh").read_text(encoding="utf-8", errors="replace")
        data_path = getattr(self.settings, "data_path", None)
        legacy = legacy_python(data_path) if python2_why and data_path is not None else None
        if python2_why and legacy is None:
            meta["launch_error"] = missing_message(name, python2_why)
        script = render_launch_script(plugin_name=name, plugin_dir=Path(path), results_dir=Path(results_dir),
                                      startplugin=startplugin, entry=language, launch_sh_text=launch_sh,
                                      pluginlib_dir=PLUGINLIB, scratch_dir=self.settings.plugins_path / "scratch"
                                      if hasattr(self.settings, "plugins_path") else None,
                                      reference_root=Path(data_path) / "referenceLibrary" if data_path else None,
                                      legacy_python=legacy, python2_missing=meta.get("launch_error"))
        return JobSpec(job_id=int(job["grid_engine_jobid"]), name=name, script=script,
                       args=launch_args(Path(results_dir)), workdir=Path(results_dir), limits=self._limits())

    def _net_location(self, rep) -> str:
        web_root = (rep.globalconfig.get("web_root") or "").rstrip("/")
        if web_root:
            return web_root
        try:
            return self.settings.net_location
        except (AttributeError, KeyError):
            return "http://127.0.0.1"

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
            with open(os.path.join(results_dir, "results.json"), encoding="utf-8") as fh:
                store = json.load(fh)
        except (OSError, ValueError):
            store = None
        size, inodes = dir_usage(main_dir) if meta.get("level") != RunLevel.BLOCK.value else (None, None)
        usage_doc = _usage_doc(usage, exit_code) if usage is not None else None
        with self.store.write():
            changed = self.db.rows_affected(self.db.execute_sql(
                f'UPDATE "PluginResultJob" SET state = ?, endtime = ?, usage = ?, reason = ? '
                f'WHERE id = ? AND state IN {_ACTIVE_SQL}',
                (JobState(state).value, _now_text(self.clock, now), json.dumps(usage_doc) if usage_doc else None,
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
            jobs = fetch(self.store, "PluginResultJob", f"plugin_result_id = ? AND state IN {_ACTIVE_SQL}",
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
                self._busy = True
            self._wake.wait(BUSY_INTERVAL if self._busy else IDLE_INTERVAL)
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
