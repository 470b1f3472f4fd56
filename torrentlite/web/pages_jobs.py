"""Jobs and status: the plugin queue across reports, and what a field engineer checks first about the server."""
from __future__ import annotations

import json
import os
import re
import shutil
from datetime import datetime, timedelta, timezone

import bottle
import psutil

from torrentlite import __version__
from torrentlite.web.core import Pages, error_text, redirect, render
from torrentlite.web.facts import elapsed, size, usage, when

ACTIVE = ("Queued", "Pending", "Started")
_LOCAL_JOB = re.compile(r"^local-\d+-(\d+)$")
_JOBS_SQL = ('SELECT j.id, j.grid_engine_jobid, j.state, j.starttime, j.endtime, j.usage, j.reason, j.run_level, '
             'j.submitted, pr.id, pr.result_id, p.name, p.version, r.resultsName, j.external_id '
             'FROM "PluginResultJob" j JOIN "pluginresult" pr ON pr.id = j.plugin_result_id '
             'JOIN "plugin" p ON p.id = pr.plugin_id JOIN "results" r ON r.id = pr.result_id ')


def _live_usage(external_id) -> dict:
    """CPU time and memory of a running local job's process tree, read now (empty when it is gone)."""
    match = _LOCAL_JOB.match(external_id or "")
    if not match:
        return {}
    try:
        root = psutil.Process(int(match.group(1)))
        tree = [root] + root.children(recursive=True)
    except (psutil.Error, ValueError):
        return {}
    cpu = rss = 0.0
    for proc in tree:
        try:
            times = proc.cpu_times()
            cpu += times.user + times.system
            rss += proc.memory_info().rss
        except psutil.Error:
            continue
    return {"cpu_seconds": cpu, "peak_rss_bytes": rss}


def _job(row) -> dict:
    try:
        recorded = json.loads(row[5]) if isinstance(row[5], str) and row[5] else row[5]
    except ValueError:
        recorded = None
    started = row[3]
    return {"id": row[0], "jobid": row[1], "state": row[2], "start": when(started), "end": when(row[4]),
            "elapsed": elapsed(started, row[4]) if row[4] else
            (elapsed(started, datetime.now(timezone.utc).isoformat()) if started else ""),
            **usage(recorded or (_live_usage(row[14]) if row[2] == "Started" else None)),
            "reason": row[6] or "", "level": row[7] or "", "queued": when(row[8]), "pluginresult": row[9],
            "report": row[10], "plugin": row[11], "version": row[12], "report_name": row[13]}


def _folder_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def register(wsgi: bottle.Bottle, pages: Pages) -> None:
    api = pages.api
    store = api.store
    settings = api.settings

    def jobs_now() -> tuple[list, list]:
        since = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
        marks = ", ".join("?" * len(ACTIVE))
        with store.read():
            active = [_job(r) for r in store.db.execute_sql(
                _JOBS_SQL + f"WHERE j.state IN ({marks}) ORDER BY j.grid_engine_jobid", ACTIVE)]
            finished = [_job(r) for r in store.db.execute_sql(
                _JOBS_SQL + f"WHERE j.state NOT IN ({marks}) AND j.endtime >= ? ORDER BY j.endtime DESC LIMIT 500",
                (*ACTIVE, since))]
        return active, finished

    def queue_facts(active: list) -> dict:
        memory = psutil.virtual_memory()
        return {"slots": int(settings.get("plugin_slots") or 1),
                "running": sum(1 for j in active if j["state"] == "Started"),
                "waiting": sum(1 for j in active if j["state"] != "Started"),
                "floor": f"{float(settings.get('plugin_memory_floor_mb') or 0):.0f} MiB",
                "available": size(memory.available),
                "below_floor": memory.available < float(settings.get("plugin_memory_floor_mb") or 0) * 1024 * 1024}

    @pages.require
    def jobs(visitor):
        active, finished = jobs_now()
        return render("jobs.tpl", visitor=visitor, title="Jobs", active=active, finished=finished,
                      queue=queue_facts(active), fragment=False)

    @pages.require
    def jobs_fragment(visitor):
        active, _ = jobs_now()
        return render("jobs_active.tpl", visitor=visitor, active=active, queue=queue_facts(active))

    @pages.require
    def cancel(visitor, pr: int):
        status, body = pages.api_call(visitor, "GET", f"pluginresult/{pr}/stop/")
        if 200 <= status < 300:
            return redirect("/jobs", notice="Stop requested; the job is recorded as Cancelled.")
        return redirect("/jobs", error=error_text(status, body))

    @pages.require
    def status(visitor):
        data = settings.data_path
        with store.read():
            storages = [{"name": r[0], "path": r[1]} for r in store.db.execute_sql(
                'SELECT name, "dirPath" FROM "reportstorage" ORDER BY id')]
            reports = store.db.execute_sql('SELECT count(*) FROM "results"').fetchone()[0]
            plugins = store.db.execute_sql('SELECT count(*) FROM "plugin" WHERE active = 1').fetchone()[0]
        for s in storages:
            try:
                usage = shutil.disk_usage(s["path"])
                s["disk"] = f"{size(usage.used)} used of {size(usage.total)}, {size(usage.free)} free"
            except OSError:
                s["disk"] = "folder not found"
        db_bytes = sum(os.path.getsize(p) for p in (f"{settings.db_path}", f"{settings.db_path}-wal")
                       if os.path.exists(p))
        results_bytes = _folder_size(str(settings.results_path)) if reports < 1000 else None
        scheduler = pages.scheduler
        thread = getattr(scheduler, "_thread", None)
        queue = queue_facts(jobs_now()[0])
        facts = [("Version", __version__), ("Data directory", str(data)), ("Database size", size(db_bytes)),
                 ("Reports", f"{reports:,}"), ("Plugins installed", str(plugins)),
                 ("Report folders size", size(results_bytes) if results_bytes is not None
                  else "not measured (more than 1,000 reports)"),
                 ("Scheduler", "running" if thread is not None and thread.is_alive()
                  else "not running in this process"),
                 ("Plugin slots", f"{queue['running']} of {queue['slots']} in use"),
                 ("Jobs waiting", str(queue["waiting"])),
                 ("Memory available", f"{queue['available']} (jobs start above {queue['floor']})"),
                 ("Trusted loopback", "on" if settings.get("trust_loopback") else "off")]
        return render("status.tpl", visitor=visitor, title="Status", facts=facts, storages=storages)

    wsgi.route("/jobs", ["GET"], jobs)
    wsgi.route("/jobs/active", ["GET"], jobs_fragment)
    wsgi.route("/jobs/<pr:int>/cancel", ["POST"], cancel)
    wsgi.route("/status", ["GET"], status)
