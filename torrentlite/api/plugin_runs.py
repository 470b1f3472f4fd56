"""Running plugins over HTTP: launch on a report, list a report's plugin results, stop and delete one."""
from __future__ import annotations

import logging
import os

from torrentlite.api.errors import ApiError, bad_request
from torrentlite.api.http import Api, Call, Response
from torrentlite.runner.local import LocalExecutor
from torrentlite.runner.scheduler import LaunchError, RunLevelScheduler
from torrentlite.runner.startplugin import fetch, fetch_one, load_report
from torrentlite.runner.states import ACTIVE, FAILED_VALIDATION
from torrentlite.store.paths import plugin_output_dir

_ACTIVE = {s.value for s in ACTIVE}
log = logging.getLogger("torrentlite.api")


def _files(folder: str) -> tuple[list, list]:
    """(top-level .html/.php files, the same without ``_block`` ones), sorted."""
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_file() and e.name.endswith((".html", ".php")))
    except OSError:
        names = []
    return names, [n for n in names if "_block" not in n]


def _job_json(job: dict) -> dict:
    return {"id": job["id"], "grid_engine_jobid": job["grid_engine_jobid"], "state": job["state"],
            "run_level": job["run_level"], "starttime": _wire_time(job.get("starttime")),
            "endtime": _wire_time(job.get("endtime")), "config": job.get("config") or {},
            "plugin_result": f"/rundb/api/v1/pluginresult/{job['plugin_result_id']}/",
            "resource_uri": f"/rundb/api/v1/PluginResultJob/{job['id']}/"}


def _wire_time(text):
    if not text:
        return None
    return str(text).replace(" ", "T")[:26]


def plugin_results(db, result_pk: int, major_only: bool = False) -> list:
    """§7: the report page's list, sorted by plugin name (case-insensitive), newest result first per name."""
    rep = load_report(db, result_pk)
    if rep is None:
        raise ApiError(404)
    prs = fetch(db, "pluginresult", "result_id = ? ORDER BY id DESC", (result_pk,))
    plugins = {p["id"]: p for p in fetch(db, "plugin", 'id IN (SELECT plugin_id FROM "pluginresult" '
                                                     'WHERE result_id = ?)', (result_pk,))}
    jobs: dict = {}
    for job in fetch(db, "PluginResultJob", 'plugin_result_id IN (SELECT id FROM "pluginresult" WHERE result_id = ?)'
                     ' ORDER BY id', (result_pk,)):
        jobs.setdefault(job["plugin_result_id"], []).append(job)
    url_root = (rep.result.get("reportLink") or "").rstrip("/")
    out = []
    for pr in prs:
        plugin = plugins.get(pr["plugin_id"], {})
        name = plugin.get("name", "")
        major = bool(plugin.get("majorBlock"))
        if major_only and not major:
            continue
        folder = plugin_output_dir(rep.dir, name, pr["id"])
        files, links = _files(folder)
        if major_only:
            files = [f for f in files if "_block" in f]
        errors = (pr.get("validation_errors") or {}).get("validation_errors") or []
        pr_jobs = jobs.get(pr["id"], [])
        latest = max(pr_jobs, key=lambda j: (j.get("starttime") is None, j.get("starttime") or "", j["id"]),
                     default=None)
        state = FAILED_VALIDATION if errors else (latest["state"] if latest else "Unknown")
        out.append({"Name": name, "Version": plugin.get("version", ""), "Path": folder,
                    "URL": f"{url_root}/plugin_out/{os.path.basename(folder)}/", "Files": files, "Links": links,
                    "Major": major, "Size": pr.get("size", -1), "inodes": pr.get("inodes", -1), "id": pr["id"],
                    "show": True, "can_terminate": any(j["state"] in _ACTIVE for j in pr_jobs),
                    "plugin_result_jobs": [_job_json(j) for j in pr_jobs], "State": state,
                    "validation_errors": errors})
    out.sort(key=lambda e: e["Name"].lower())
    return out


def build_scheduler(store, settings) -> RunLevelScheduler:
    """The scheduler for this server, running plugin jobs as local subprocesses (not started)."""
    return RunLevelScheduler(store, LocalExecutor(), settings)


def register(api: Api, scheduler: RunLevelScheduler) -> None:
    """Register the plugin-run endpoints of this module on ``api``, acting through ``scheduler``."""
    db = api.store.db

    def require(call: Call, action: str, table: str) -> None:
        if not call.user.can(action, table):
            raise ApiError(401)

    def pipeline_on_completion(result_pk: int) -> None:
        # The write has committed; a launch problem is logged, it cannot undo the report's change.
        try:
            scheduler.launch_pipeline(result_pk)
        except Exception:
            log.exception("result %s: launching the plan's plugins failed", result_pk)

    api.result_completed.append(pipeline_on_completion)

    @api.endpoint("results", r"(?P<pk>\d+)/plugin/", ("POST",))
    def launch(call: Call) -> Response:
        require(call, "change", "results")
        body = call.json()
        if not isinstance(body, dict):
            raise bad_request("Expected a JSON object")
        if "plugin" not in body:
            raise ApiError(410, {"error": "Plugin not specified"})
        config = body.get("pluginconfig") or {}
        if not isinstance(config, dict):
            raise bad_request("pluginconfig must be an object")
        pluginresult = body.get("pluginresult")
        if pluginresult not in (None, "") and not str(pluginresult).isdigit():
            raise bad_request("pluginresult must be an integer")
        user = call.user.username
        if call.user.is_superuser and (body.get("owner") or body.get("username")):
            user = str(body.get("owner") or body.get("username"))
        try:
            launched = scheduler.launch(int(call.match["pk"]), [body["plugin"]], run_mode="manual",
                                        pluginconfig=config,
                                        pluginresult=int(pluginresult) if pluginresult not in (None, "") else None,
                                        user=user)
        except LaunchError as exc:
            if exc.status == 404:
                raise ApiError(404)
            raise ApiError(exc.status, {"error": str(exc)})
        return Response(202, {"plugins": [{k: v for k, v in item.items() if k not in ("apikey", "config")}
                                          for item in launched]})

    @api.endpoint("results", r"(?P<pk>\d+)/pluginresults/", ("GET",))
    def list_results(call: Call) -> Response:
        major = (call.params.get("major") or [""])[-1].lower() in ("true", "1")
        return Response(200, plugin_results(db, int(call.match["pk"]), major))

    @api.endpoint("pluginresult", r"(?P<pk>\d+)/stop/", ("GET",))
    def stop(call: Call) -> Response:
        require(call, "change", "pluginresult")
        if fetch_one(db, "pluginresult", int(call.match["pk"])) is None:
            raise ApiError(404)
        scheduler.cancel(int(call.match["pk"]))
        return Response(204)

    @api.endpoint("pluginresult", r"(?P<pk>\d+)/delete/", ("DELETE",))
    def delete(call: Call) -> Response:
        require(call, "delete", "pluginresult")
        if not scheduler.delete(int(call.match["pk"])):
            raise ApiError(404)
        return Response(204)


__all__ = ["register", "plugin_results"]
