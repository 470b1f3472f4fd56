"""Arvados-style list parameters, accepted on every list next to tastypie's own.

    filters=[["attr", "op", operand], ...]   ANDed; op is one of = != < <= > >= like ilike in "not in"
    order=["attr asc", "attr desc"]           sort keys (not together with order_by/sort_by)
    select=["attr", ...]                      only these keys (plus resource_uri) in each object
    count=none                                no total_count in meta, and no COUNT query

As in Arvados, `!=` and `not in` also match rows where the attribute is null, `=`/`!=` with a
null operand test for null, and `like`/`ilike` take SQL patterns (`%` any run, `_` one
character, backslash escapes either). `like` is case-sensitive; `ilike` is not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

from peewee import SQL, NodeList, fn

from torrentlite.api.errors import bad_request
from torrentlite.api.json_text import parse_json
from torrentlite.store import search
from torrentlite.store.models import column
from torrentlite.store.registry import Resource

OPERATORS = {"=": "exact", "!=": "ne", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte", "like": "like",
             "ilike": "ilike", "in": "in", "not in": "not in"}
COUNT_VALUES = ("exact", "none")
_GLOB_SPECIAL = "*?["


@dataclass
class ArvadosQuery:
    """What a list request's Arvados parameters ask for."""

    conditions: list = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    select: Optional[list[str]] = None
    count: bool = True

    def project(self, objects: list[dict]) -> list[dict]:
        """Each object cut down to the selected keys (plus resource_uri when the resource has one)."""
        if self.select is None:
            return objects
        keep = list(dict.fromkeys(self.select + ["resource_uri"]))
        return [{k: obj[k] for k in keep if k in obj} for obj in objects]


def like_to_glob(pattern: str) -> str:
    """A SQL LIKE pattern as an SQLite GLOB pattern (GLOB is case-sensitive, LIKE is not)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(f"[{nxt}]" if nxt in _GLOB_SPECIAL else nxt)
            i += 2
            continue
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in _GLOB_SPECIAL:
            out.append(f"[{ch}]")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _json_param(params: dict, name: str):
    raw = params[name][-1]
    try:
        return parse_json(raw)
    except ValueError:
        if name in ("order", "select") and raw.strip():
            return [part.strip() for part in raw.split(",") if part.strip()]
        example = '[["name", "=", "x"]]' if name == "filters" else '["name"]'
        raise bad_request(f"The '{name}' parameter must be a JSON array, e.g. {example}; got {raw!r}.")


def _operand_key(value):
    """A related field's operand: a pk, or a detail URI reduced to its key."""
    if isinstance(value, str) and value.startswith(("/rundb/", "http://", "https://")):
        return value.rstrip("/").rsplit("/", 1)[-1]
    return value


class _Builder:
    def __init__(self, handler, resource: Resource):
        self.handler = handler
        self.query = handler.query
        self.store = handler.store
        self.resource = resource
        self.table = self.store.registry.tables[resource.table]
        self.model = self.store.model(resource.table)

    def attribute(self, attr) -> str:
        if not isinstance(attr, str):
            raise bad_request(f"A filter's attribute must be a string, got {json.dumps(attr)}.")
        fd = self.resource.fields.get(attr)
        if fd is None or fd.source not in ("column", "relation") or attr not in self.resource.filtering:
            raise bad_request(f"The '{attr}' field does not allow filtering.")
        return attr

    def condition(self, item):
        if not isinstance(item, list) or len(item) != 3:
            raise bad_request(f"Each filter must be [attribute, operator, operand]; got {json.dumps(item)}.")
        attr, op, operand = item
        attr = self.attribute(attr)
        lookup = OPERATORS.get(op) if isinstance(op, str) else None
        if lookup is None:
            raise bad_request(f"Unknown filter operator {json.dumps(op)}; use one of "
                              f"{', '.join(OPERATORS)}.")
        fd = self.resource.fields[attr]
        if fd.source == "relation":
            operand = [_operand_key(v) for v in operand] if isinstance(operand, list) else _operand_key(operand)
        if lookup in ("in", "not in"):
            if not isinstance(operand, list) or any(isinstance(v, (list, dict)) for v in operand):
                raise bad_request(f"The '{op}' operator needs an array of values.")
            values = [v for v in operand if v is not None]
            cond = self.query.condition(self.resource, [attr], "in", values, check=False) if values else None
            has_null = len(values) != len(operand)
            if lookup == "in":
                if cond is None:
                    return self.is_null(attr, True) if has_null else SQL("0")
                return cond | self.is_null(attr, True) if has_null else cond
            if cond is None:
                return self.is_null(attr, False) if has_null else SQL("1")
            return ~cond & self.is_null(attr, False) if has_null else ~cond | self.is_null(attr, True)
        if isinstance(operand, (list, dict)):
            raise bad_request(f"The '{op}' operator needs a single value, got {json.dumps(operand)}.")
        if operand is None:
            if lookup in ("exact", "ne"):
                return self.is_null(attr, lookup == "exact")
            raise bad_request(f"The '{op}' operator cannot compare with null.")
        if lookup in ("like", "ilike"):
            return self.like(attr, str(operand), lookup == "ilike")
        if isinstance(operand, bool):
            operand = "true" if operand else "false"
        if lookup == "ne":
            eq = self.query.condition(self.resource, [attr], "exact", str(operand), check=False)
            return ~eq | self.is_null(attr, True)
        return self.query.condition(self.resource, [attr], lookup, str(operand), check=False)

    def is_null(self, attr: str, null: bool):
        return self.query.condition(self.resource, [attr], "isnull", "true" if null else "false", check=False)

    def like(self, attr: str, pattern: str, insensitive: bool):
        if attr not in self.table.columns or self.table.columns[attr].kind != "string":
            raise bad_request(f"The 'like' and 'ilike' operators need a text attribute; '{attr}' is not one.")
        target = column(self.model, attr)
        glob = like_to_glob(pattern)
        if insensitive:
            expr = NodeList((fn.tl_lower(target), SQL("GLOB"), glob.lower()))
        else:
            expr = NodeList((target, SQL("GLOB"), glob))
        narrow = search.narrowing(self.store.db, self.resource.table, attr, column(self.model, self.table.pk),
                                  search.literal_runs(pattern), case_insensitive=insensitive)
        return expr if narrow is None else narrow & expr


def parse(handler, resource: Resource, params: dict) -> ArvadosQuery:
    """The Arvados parameters of a list request; 400 with a clear message for anything malformed."""
    out = ArvadosQuery()
    builder = _Builder(handler, resource)
    if "filters" in params:
        filters = _json_param(params, "filters")
        if not isinstance(filters, list):
            raise bad_request("The 'filters' parameter must be a JSON array of [attribute, operator, operand].")
        if filters and not isinstance(filters[0], list) and len(filters) == 3:
            filters = [filters]  # one bare condition
        out.conditions = [builder.condition(item) for item in filters]
    if "order" in params:
        if params.get("order_by") or params.get("sort_by"):
            raise bad_request("Use either 'order' or 'order_by', not both.")
        order = _json_param(params, "order")
        order = [order] if isinstance(order, str) else order
        if not isinstance(order, list) or not all(isinstance(o, str) for o in order):
            raise bad_request("The 'order' parameter must be an array of \"attribute [asc|desc]\" strings.")
        for term in order:
            parts = term.split()
            if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
                raise bad_request(f"Invalid order term {term!r}: use \"attribute asc\" or \"attribute desc\".")
            desc = len(parts) == 2 and parts[1].lower() == "desc"
            out.order.append(("-" if desc else "") + parts[0])
    if "select" in params:
        select = _json_param(params, "select")
        select = [select] if isinstance(select, str) else select
        if not isinstance(select, list) or not all(isinstance(s, str) for s in select):
            raise bad_request("The 'select' parameter must be an array of attribute names.")
        known = set(resource.fields) | set(resource.extra_keys)
        unknown = [s for s in select if s not in known]
        if unknown:
            raise bad_request(f"Cannot select unknown attribute(s): {', '.join(unknown)}.")
        out.select = select
    if "count" in params:
        value = params["count"][-1]
        if value not in COUNT_VALUES:
            raise bad_request(f"Invalid count {value!r}: use 'exact' or 'none'.")
        out.count = value == "exact"
    return out


__all__ = ["ArvadosQuery", "parse", "like_to_glob"]
