"""Query parameters some resources take that are not field filters (notes §2.4)."""
from __future__ import annotations

import os

from peewee import SQL, fn

from torrentlite.api.query import regex_match, truthy
from torrentlite.store.models import column, fk_column
from torrentlite.store.registry import Resource

_PLAN_TABLE = "plannedexperiment"


# Parameters these resources read themselves; they are not field filters there.
_OWN_PARAMS = {
    _PLAN_TABLE: ("platform", "instrument", "name_or_id", "name_or_id__icontains"),
    "results": ("isThumbnail",),
}


def field_params(resource: Resource, params: dict) -> dict:
    """`params` without the ones `special_filters` consumes for this resource."""
    own = _OWN_PARAMS.get(resource.table, ())
    return {k: v for k, v in params.items() if k not in own} if own else params


def _value(params: dict, name: str):
    values = params.get(name)
    return values[-1] if values else None


def special_filters(handler, resource: Resource, params: dict) -> list:
    """Extra conditions for the resource-specific parameters present in `params`."""
    store = handler.store
    model = store.model(resource.table)
    conds = []
    if resource.table == "results" and _value(params, "isThumbnail") in ("yes", "no"):
        has = fn.instr(column(model, "metaData"), "thumb") > 0
        conds.append(has if _value(params, "isThumbnail") == "yes" else ~has)
    if resource.name == "plugin" and _value(params, "isConfig") is not None:
        wanted = truthy(_value(params, "isConfig"))
        rows = store.reader.query("plugin", column(model, "active") == 1)
        ids = [r["id"] for r in rows if r.get("path") and os.path.exists(os.path.join(r["path"], "config.html"))]
        pk = column(model, "id")
        conds.append(pk.in_(ids) if wanted else pk.not_in(ids))
    if resource.table == _PLAN_TABLE:
        conds += _plan_filters(store, model, params)
    if resource.name == "dnabarcode" and "distinct" in params:
        first = model.select(fn.MIN(column(model, "id"))).group_by(column(model, "name"))
        conds.append(column(model, "id").in_(first))
    if resource.name == "content" and _value(params, "all_text"):
        text = _value(params, "all_text").lower()
        conds.append(fn.instr(fn.tl_lower(column(model, "path")), text) > 0)
    if resource.name == "compositedatamanagement" and _value(params, "search_name"):
        pattern = _value(params, "search_name")
        experiments = store.model("experiment")
        named = experiments.select(column(experiments, "id")).where(
            regex_match(column(experiments, "expName"), pattern, True, "search_name"))
        conds.append(regex_match(column(model, "resultsName"), pattern, True, "search_name")
                     | column(model, fk_column("experiment")).in_(named))
    if resource.name == "compositedatamanagement":
        conds += _state_filters(column(model, "id"), params)
    return conds


# compositedatamanagement's <category>_filter: a comma list of state codes; K means "kept" and is
# ANDed with the codes, P stands for every state of an action in progress (as on Torrent Suite).
_IN_PROGRESS_CODES = ("AG", "DG", "EG", "IG", "SA", "SE", "S", "N", "A")
_FILTER_TYPES = {"sigproc": "Signal Processing Input", "basecall": "Basecalling Input", "output": "Output Files",
                 "misc": "Intermediate Files"}


def _state_filters(pk, params: dict) -> list:
    conds = []
    for prefix, type_ in _FILTER_TYPES.items():
        raw = _value(params, f"{prefix}_filter")
        if not raw:
            continue
        codes = [c.strip() for c in raw.split(",") if c.strip()]
        states = [s for c in codes if c != "K" for s in (_IN_PROGRESS_CODES if c == "P" else (c,))]
        where, args = ['f."type" = ?'], [type_]
        if states:
            where.append(f's."action_state" IN ({",".join("?" * len(states))})')
            args += states
        if "K" in codes:
            where.append('e."storage_options" = \'KI\'' if prefix == "sigproc" else 's."preserve_data" = 1')
        subquery = ('(SELECT s."result_id" FROM "dmfilestat" s JOIN "dmfileset" f ON f."id" = s."dmfileset_id" '
                    'JOIN "results" r ON r."id" = s."result_id" LEFT JOIN "experiment" e ON e."id" = r."experiment_id" '
                    'WHERE ' + " AND ".join(where) + ")")
        conds.append(pk.in_(SQL(subquery, args)))
    return conds


def _plan_filters(store, model, params: dict) -> list:
    conds = []
    experiments = store.model("experiment")
    platform = _value(params, "platform") or _value(params, "instrument")
    if platform is not None:
        exp_platform = fn.tl_lower(column(experiments, "platform"))
        matching = experiments.select(column(experiments, fk_column("plan"))).where(
            (exp_platform == platform.lower()) | (column(experiments, "platform") == "")
            | column(experiments, "platform").is_null())
        conds.append(column(model, "id").in_(matching))
    name = _value(params, "name_or_id") or _value(params, "name_or_id__icontains")
    if name:
        text = name.lower()
        conds.append((fn.instr(fn.tl_lower(column(model, "planName")), text) > 0)
                     | (fn.instr(fn.tl_lower(column(model, "planDisplayedName")), text) > 0)
                     | (fn.instr(fn.tl_lower(column(model, "planShortID")), text) > 0))
    return conds
