"""A report: run facts, metrics with plots, barcodes, downloads and the live plugin section."""
from __future__ import annotations

import json

import bottle

from torrentlite.api.errors import ApiError
from torrentlite.web import report_data
from torrentlite.web.core import Pages, error_text, redirect, render


def _script_json(value) -> str:
    return json.dumps(value).replace("</", "<\\/")


def register(wsgi: bottle.Bottle, pages: Pages) -> None:
    api = pages.api

    def runnable_plugins() -> list[dict]:
        rows = api.plugins.rows(active=True)
        return [{"id": r["id"], "name": r["name"], "version": r["version"],
                 "instance": api.plugins.page_url(r, "report")} for r in sorted(rows, key=lambda r: r["name"].lower())]

    def plugin_section(visitor, pk: int, entries=None) -> dict:
        entries = report_data.plugin_entries(api, pk) if entries is None else entries
        return {"visitor": visitor, "pk": pk, "entries": entries, "sig": report_data.signature(entries),
                "polling": True}

    @pages.require
    def report(visitor, pk: int):
        try:
            data = report_data.report(api, pk, visitor.user)
        except ApiError:
            return render("message.tpl", 404, visitor=visitor, title="No such report",
                          message=f"There is no report {pk}.")
        return render("report.tpl", visitor=visitor, title=data["result"]["resultsName"], plots=True, data=data,
                      plot_json=_script_json(data["plots"]), plugins=runnable_plugins(),
                      section=plugin_section(visitor, pk))

    @pages.require
    def select_page(visitor, pk: int):
        # The dialog's content as a page of its own, for browsers without JavaScript.
        try:
            result = api.read.detail(api.registry["results"], str(pk), {}, user=visitor.user)
        except ApiError:
            return render("message.tpl", 404, visitor=visitor, title="No such report",
                          message=f"There is no report {pk}.")
        return render("report_select_page.tpl", visitor=visitor, title="Select plugins to run", report_pk=pk,
                      report_name=result["resultsName"], plugins=runnable_plugins())

    @pages.require
    def plugins_fragment(visitor, pk: int):
        try:
            entries = report_data.plugin_entries(api, pk)
        except ApiError:
            return bottle.HTTPResponse(b"", 404)
        if bottle.request.query.get("sig") == report_data.signature(entries):
            # htmx leaves the section alone on 204: iframes do not reload while nothing changed.
            return bottle.HTTPResponse(b"", 204)
        return render("report_plugins.tpl", **plugin_section(visitor, pk, entries))

    def back(pk: int, status: int, body, done: str):
        if 200 <= status < 300:
            return redirect(f"/report/{pk}#plugins", notice=done)
        return redirect(f"/report/{pk}#plugins", error=error_text(status, body))

    @pages.require
    def run_plugin(visitor, pk: int):
        name = bottle.request.forms.getunicode("plugin") or ""
        if not name:
            return redirect(f"/report/{pk}#plugins", error="Choose a plugin to run.")
        status, body = pages.api_call(visitor, "POST", f"results/{pk}/plugin/", {"plugin": [name]})
        return back(pk, status, body, f"{name} queued.")

    @pages.require
    def act(visitor, pk: int, pr: int, action: str):
        try:
            entries = {e["id"]: e for e in report_data.plugin_entries(api, pk)}
        except ApiError:
            entries = {}
        if pr not in entries:
            return redirect(f"/report/{pk}#plugins", error="That plugin result is not part of this report.")
        if action == "stop":
            status, body = pages.api_call(visitor, "GET", f"pluginresult/{pr}/stop/")
            return back(pk, status, body, "Stop requested.")
        if action == "remove":
            status, body = pages.api_call(visitor, "DELETE", f"pluginresult/{pr}/delete/")
            return back(pk, status, body, "Plugin result removed.")
        entry = entries[pr]
        status, body = pages.api_call(visitor, "POST", f"results/{pk}/plugin/",
                                      {"plugin": [entry["name"]], "pluginconfig": entry["config"]})
        return back(pk, status, body, f"{entry['name']} queued again.")

    wsgi.route("/report/<pk:int>", ["GET"], report)
    wsgi.route("/report/<pk:int>/select", ["GET"], select_page)
    wsgi.route("/report/<pk:int>/plugins", ["GET"], plugins_fragment)
    wsgi.route("/report/<pk:int>/plugins/run", ["POST"], run_plugin)
    wsgi.route("/report/<pk:int>/plugins/<pr:int>/<action:re:stop|remove|rerun>", ["POST"], act)
