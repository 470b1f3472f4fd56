"""Plans and templates: the list, and a plan's page with its selected plugins and their plan.html pages."""
from __future__ import annotations

from urllib.parse import urlencode

import bottle

from torrentlite.api.errors import ApiError
from torrentlite.web.core import Pages, render
from torrentlite.web.facts import when

PAGE_SIZE = 50


def register(wsgi: bottle.Bottle, pages: Pages) -> None:
    api = pages.api
    manager = api.plugins

    @pages.require
    def plans(visitor):
        query = bottle.request.query
        kind = query.get("kind") if query.get("kind") in ("plans", "templates") else "plans"
        try:
            page = max(1, int(query.get("page") or 1))
        except ValueError:
            page = 1
        params = {"isReusable": ["true" if kind == "templates" else "false"], "isSystemDefault": ["false"],
                  "order_by": ["-date"], "limit": [str(PAGE_SIZE)], "offset": [str((page - 1) * PAGE_SIZE)]}
        listing = api.read.list(api.registry["plannedexperiment"], params, path="/plans", user=visitor.user)
        rows = [{"id": p["id"], "name": p.get("planDisplayedName") or p.get("planName") or "",
                 "short": p.get("planShortID"),
                 "status": p.get("planStatus") or "", "application": p.get("runType") or "",
                 "chip": p.get("chipType") or "", "date": when(p.get("date")),
                 "plugins": ", ".join(sorted((p.get("selectedPlugins") or {}).keys()))} for p in listing["objects"]]
        total = listing["meta"].get("total_count", 0)
        last = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
        return render("plans.tpl", visitor=visitor, title="Plans", rows=rows, kind=kind, total=total, page=page,
                      last=last, link=lambda n: "/plans?" + urlencode({"kind": kind, "page": n}))

    @pages.require
    def plan(visitor, pk: int):
        try:
            p = api.read.detail(api.registry["plannedexperiment"], str(pk), {}, user=visitor.user)
        except ApiError:
            return render("message.tpl", 404, visitor=visitor, title="No such plan", message=f"There is no plan {pk}.")
        selected = []
        for name, entry in sorted((p.get("selectedPlugins") or {}).items(), key=lambda item: item[0].lower()):
            row = manager.active_row(name)
            url = manager.page_url(row, "plan") if row else False
            query = urlencode({"applicationGroup": p.get("applicationGroup") or "", "runType": p.get("runType") or ""})
            entry = entry if isinstance(entry, dict) else {}
            selected.append({"name": name, "version": entry.get("version", ""), "installed": row is not None,
                             "config": entry.get("userInput"),
                             "plan_page": f"{url}?{query}" if url else None})
        facts = [(label, p.get(key)) for label, key in (
            ("Short ID", "planShortID"), ("Status", "planStatus"), ("Template", "isReusable"),
            ("Application", "runType"), ("Chip", "chipType"), ("Flows", "flows"), ("Reference", "library"),
            ("Barcode set", "barcodeId"), ("Sample", "sampleDisplayedName"), ("Project", "projects"),
            ("Created", "date"), ("Created by", "username"), ("Notes", "notes"))]
        facts = [(label, when(value) if label == "Created" else
                  (", ".join(str(v) for v in value) if isinstance(value, list) else
                   ("yes" if value is True else "no" if value is False else value)))
                 for label, value in facts if value not in (None, "", [])]
        title = p.get("planDisplayedName") or p.get("planName") or f"Plan {pk}"
        return render("plan.tpl", visitor=visitor, title=title,
                      plan=p, facts=facts, selected=selected)

    wsgi.route("/plans", ["GET"], plans)
    wsgi.route("/plans/<pk:int>", ["GET"], plan)
