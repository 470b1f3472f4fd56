"""Running plugins over HTTP: launch on a report, list a report's plugin results, stop and delete one."""
from __future__ import annotations

import logging
import os
import pwd

from torrentlite.api.errors import ApiError, bad_request
from torrentlite.api.http import Api, Call, Response
from torrentlite.runner.executor import ExecutorUnavailable
from torrentlite.runner.local import LocalExecutor
from torrentlite.runner.scheduler import LaunchError, RunLevelScheduler
from torrentlite.runner.startplugin import fetch_one
from torrentlite.runner.states import JobState
from torrentlite.store.fields import fits_int64
from torrentlite.store.models import column, fk_column

log = logging.getLogger("torrentlite.api")


def plugin_results(api: Api, result_pk: int, major_only: bool = False) -> list:
    """§7.1: the report page's list, sorted by plugin name (case-insensitive), newest result first per name.

    Built from the `pluginresult` representation, so state, files and jobs read as on `pluginresult/`.
    """
    if result_pk not in api.read.rows_for_keys(api.registry["results"], [result_pk]):
        raise ApiError(404)
    ctx = api.read.context({}, detail=True)
    model = api.store.model("pluginresult")
    with api.store.read():
        rows = ctx.fetch("pluginresult", column(model, fk_column("result")) == result_pk,
                         order=[column(model, "id").desc()])
        objects = api.read.representer.dehydrate(api.registry["pluginresult"], rows, ctx)
    out = []
    for row, obj in zip(rows, objects):
        if major_only and not obj["major"]:
            continue
        files = [f for f in obj["files"] if "_block" in f] if major_only else obj["files"]
        out.append({"Name": obj["pluginName"], "Version": obj["pluginVersion"], "Path": obj["path"],
                    "URL": obj["URL"], "Files": files, "Links": [f for f in obj["files"] if "_block" not in f],
                    "Major": obj["major"], "Size": row.get("size", -1), "inodes": row.get("inodes", -1),
                    "id": row["id"], "show": True, "can_terminate": obj["can_terminate"],
                    "plugin_result_jobs": obj["plugin_result_jobs"], "State": obj["state"],
                    "validation_errors": (row.get("validation_errors") or {}).get("validation_errors") or []})
    out.sort(key=lambda e: e["Name"].lower())
    return out


def sge_job_counts(scheduler: RunLevelScheduler) -> dict:
    """§7.9 ``torrentsuite/sgejobs/``: jobs on the queue; Grid Engine's own list when jobs run there.

    Torrent Suite counts analysis jobs (www-data) and plugin jobs (its daemon's user); here plugin jobs
    are those of the user this server runs as. ``queues`` adds the running jobs per queue.
    """
    counts = getattr(scheduler.executor, "counts", None)
    if counts is None:
        active = dict(scheduler.db.execute_sql(
            'SELECT state, COUNT(*) FROM "PluginResultJob" WHERE state IN (?, ?, ?) GROUP BY state',
            (JobState.QUEUED.value, JobState.PENDING.value, JobState.STARTED.value)).fetchall())
        total = sum(active.values())
        return {"total_jobs": total, "analysis_jobs": 0, "plugin_jobs": total,
                "pending_jobs": total - active.get(JobState.STARTED.value, 0),
                "queues": {"local": {"running": active.get(JobState.STARTED.value, 0)}}}
    try:
        listing = counts()
    except ExecutorUnavailable as exc:
        raise ApiError(503, {"error": str(exc)}) from None
    me = pwd.getpwuid(os.getuid()).pw_name
    jobs = listing["jobs"]
    return {"total_jobs": len(jobs), "analysis_jobs": sum(1 for j in jobs if j["owner"] == "www-data"),
            "plugin_jobs": sum(1 for j in jobs if j["owner"] == me),
            "pending_jobs": sum(1 for j in jobs if not j["running"]), "queues": listing["queues"]}


def build_scheduler(store, settings) -> RunLevelScheduler:
    """The scheduler for this server (not started), with the executor the ``executor`` setting names."""
    if settings.get("executor") == "drmaa":
        from torrentlite.runner.drmaa import DrmaaExecutor

        return RunLevelScheduler(store, DrmaaExecutor(settings), settings)
    return RunLevelScheduler(store, LocalExecutor(), settings)


def register(api: Api, scheduler: RunLevelScheduler) -> None:
    """Register the plugin-run endpoints of this module on ``api``, acting through ``scheduler``."""

    def key(call: Call) -> int:
        # A key no SQLite integer can hold names nothing.
        pk = int(call.match["pk"])
        if not fits_int64(pk):
            raise ApiError(404)
        return pk

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
        if pluginresult not in (None, "") and not (str(pluginresult).isdigit() and fits_int64(int(pluginresult))):
            raise bad_request("pluginresult must be an integer")
        user = call.user.username
        if call.user.is_superuser and (body.get("owner") or body.get("username")):
            user = str(body.get("owner") or body.get("username"))
        try:
            launched = scheduler.launch(key(call), [body["plugin"]], run_mode="manual",
                                        pluginconfig=config,
                                        pluginresult=int(pluginresult) if pluginresult not in (None, "") else None,
                                        user=user)
        except LaunchError as exc:
            if exc.status == 404:
                raise ApiError(404)
            raise ApiError(exc.status, {"error": str(exc)})
        return Response(202, {"plugins": [{k: v for k, v in item.items() if k not in ("apikey", "config")}
                                          for item in launched]})

    @api.endpoint("torrentsuite", "sgejobs/", ("GET",))
    def sgejobs(call: Call) -> Response:
        return Response(200, sge_job_counts(scheduler))

    @api.endpoint("results", r"(?P<pk>\d+)/pluginresults/", ("GET",))
    def list_results(call: Call) -> Response:
        major = (call.params.get("major") or [""])[-1].lower() in ("true", "1")
        return Response(200, plugin_results(api, int(call.match["pk"]), major))

    @api.endpoint("pluginresult", r"(?P<pk>\d+)/stop/", ("GET",))
    def stop(call: Call) -> Response:
        require(call, "change", "pluginresult")
        pk = key(call)
        if fetch_one(api.store, "pluginresult", pk) is None:
            raise ApiError(404)
        scheduler.cancel(pk)
        return Response(204)

    @api.endpoint("pluginresult", r"(?P<pk>\d+)/delete/", ("DELETE",))
    def delete(call: Call) -> Response:
        require(call, "delete", "pluginresult")
        if not scheduler.delete(key(call)):
            raise ApiError(404)
        return Response(204)


__all__ = ["register", "plugin_results", "sge_job_counts", "build_scheduler"]
