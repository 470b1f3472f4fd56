"""The runs list: reports with search, filters, sort and paging, read through the API's list handler."""
from __future__ import annotations

import operator
import re
from functools import reduce
from urllib.parse import urlencode

import bottle
from peewee import SQL

from torrentlite.api.errors import ApiError
from torrentlite.web.core import Pages, render
from torrentlite.web.facts import bases, number, pk_of, when

PAGE_SIZE = 25
# A filtered list counts at most this many matches: a search matching most of 100,000 reports
# would otherwise be counted row by row on every page.
COUNT_CAP = 1000
SORTS = {"newest": "-timeStamp", "oldest": "timeStamp", "name": "resultsName", "name-desc": "-resultsName",
         "status": "status"}
STATUSES = ("Completed", "Started", "Pending", "Error", "TERMINATED", "Checksum Error", "Importing")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILTERS = ("q", "status", "project", "instrument", "chip", "from", "to", "sort")


def api_params(form: dict) -> tuple[dict, list]:
    """The results-list parameters for the page's form values, and messages for values left out."""
    params, problems = {}, []
    if form.get("q"):
        params["resultsName__icontains"] = [form["q"]]
    if form.get("status"):
        params["status"] = [form["status"]]
    if form.get("project"):
        params["projects__name"] = [form["project"]]
    if form.get("instrument"):
        params["experiment__pgmName"] = [form["instrument"]]
    if form.get("chip"):
        params["experiment__chipType"] = [form["chip"]]
    for key, op, suffix in (("from", "gte", ""), ("to", "lte", " 23:59:59.999999")):
        value = form.get(key)
        if value and _DATE.match(value):
            params[f"timeStamp__{op}"] = [value + suffix]
        elif value:
            problems.append(f"'{value}' is not a date (YYYY-MM-DD); the {key} date was ignored.")
    params["order_by"] = [SORTS.get(form.get("sort") or "newest", "-timeStamp")]
    return params, problems


def register(wsgi: bottle.Bottle, pages: Pages) -> None:
    api = pages.api
    db = api.store.db

    def capped_count(params: dict) -> tuple[int, bool]:
        """(matches, exact): the API's own filter conditions, counted up to COUNT_CAP."""
        resource = api.registry["results"]
        with api.store.read():
            conds = api.read.conditions(resource, params)
            if not conds:
                return api.store.reader.count("results"), True
            query = api.store.model("results").select(SQL("1")).where(reduce(operator.and_, conds))
            sql, values = query.limit(COUNT_CAP + 1).sql()
            found = db.execute_sql(f"SELECT count(*) FROM ({sql})", values).fetchone()[0]
        return min(found, COUNT_CAP), found <= COUNT_CAP

    def choices() -> dict:
        # Small tables (never the 100,000-row ones): what the filters offer.
        with api.store.read():
            return {
                "projects": [r[0] for r in db.execute_sql('SELECT name FROM "project" ORDER BY name LIMIT 500')],
                "instruments": [r[0] for r in db.execute_sql('SELECT name FROM "rig" ORDER BY name LIMIT 500')],
                "chips": [r[0] for r in db.execute_sql('SELECT DISTINCT name FROM "chip" ORDER BY name LIMIT 500')],
            }

    def experiments(uris: list) -> dict:
        ids = sorted({pk_of(u) for u in uris if u} - {None})
        rows = api.store.reader.where_in("experiment", "id", ids, columns=("id", "pgmName", "chipType"))
        return {r["id"]: {"instrument": r.get("pgmName") or "", "chip": r.get("chipType") or ""} for r in rows}

    def project_names(results: list) -> dict:
        ids = sorted({pk_of(u) for r in results for u in r.get("projects") or []} - {None})
        return {r["id"]: r.get("name") for r in api.store.reader.where_in("project", "id", ids, columns=("id", "name"))}

    def metrics(ids: list) -> dict:
        rows = api.store.reader.where_in("qualitymetrics", "report_id", ids, order_desc="id",
                                         columns=("id", "report_id", "q0_reads", "q20_bases"))
        found = {}
        for r in rows:
            found.setdefault(r["report_id"], r)
        return found

    @pages.require
    def runs(visitor):
        query = bottle.request.query
        form = {k: (query.getunicode(k) or "").strip() for k in FILTERS}
        try:
            page = max(1, int(query.get("page") or 1))
        except ValueError:
            page = 1
        params, problems = api_params(form)
        params.update(limit=[str(PAGE_SIZE)], offset=[str((page - 1) * PAGE_SIZE)])
        try:
            listing = api.read.list(api.registry["results"], params, path="/runs", user=visitor.user, count=False)
            shown = len(listing["objects"])
            # A page that is not full ends the list: no need to count.
            total, exact = ((page - 1) * PAGE_SIZE + shown, True) if 0 < shown < PAGE_SIZE or (
                shown == 0 and page == 1) else capped_count(params)
        except ApiError as exc:
            listing, total, exact = {"objects": []}, 0, True
            problems.append(f"The filter could not be applied: {(exc.body or {}).get('error', exc.status)}")
        results = listing["objects"]
        with api.store.read():
            exps = experiments([r.get("experiment") for r in results])
            projects = project_names(results)
            quality = metrics([r["id"] for r in results])
        rows = []
        for r in results:
            exp = exps.get(pk_of(r.get("experiment")), {})
            q = quality.get(r["id"], {})
            rows.append({"id": r["id"], "name": r["resultsName"], "status": r["status"],
                         "when": when(r.get("timeStamp")), "instrument": exp.get("instrument", ""),
                         "chip": exp.get("chip", ""), "reads": number(q.get("q0_reads")),
                         "q20": bases(q.get("q20_bases")) if q.get("q20_bases") else "",
                         "projects": ", ".join(projects.get(pk_of(u), "") for u in r.get("projects") or [])})
        pages_count = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
        if not exact:
            # Past the counted matches the pager goes on while pages are full.
            pages_count = max(pages_count, page + (1 if len(results) == PAGE_SIZE else 0))
        kept = {k: v for k, v in form.items() if v}

        def page_link(n: int) -> str:
            return "/runs?" + urlencode({**kept, "page": n})

        return render("runs.tpl", visitor=visitor, title="Runs", rows=rows, form=form, total=total, exact=exact,
                      page=page,
                      pages_count=pages_count, page_link=page_link, problems=problems, statuses=STATUSES,
                      sorts=list(SORTS), **choices())

    wsgi.route("/runs", ["GET"], runs)
