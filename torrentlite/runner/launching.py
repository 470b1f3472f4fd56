"""Launching plugins: queued PluginResultJob rows with their holds, in one short transaction per launch."""
from __future__ import annotations

import json
import logging
import os
import secrets
from typing import Dict, Iterable, List, Optional, Sequence

from torrentlite.store.paths import plugin_output_dir

from .inspect import compare_versions
from .startplugin import fetch, fetch_one, load_report, plan_entry, plugin_config
from .states import FAILED_VALIDATION, JobState, RunLevel
from .validate import ValidationQueue

log = logging.getLogger("torrentlite.scheduler")

SEQUENCE_TABLE = "torrentlite_jobid"


class LaunchError(Exception):
    """A launch request that cannot be honoured; ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


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


class Launching:
    """The scheduler's launch side: plugin look-up, plugin results, and Queued jobs with their holds."""

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
