"""Generic read endpoints for every resource: list, detail, schema and set (tastypie's shapes)."""
from __future__ import annotations

from urllib.parse import urlencode

from typing import Optional

from peewee import SQL, fn

from torrentlite.api import arvados, computed, computed_composite, computed_plans  # noqa: F401  (register fields)
from torrentlite.api.errors import canned, not_found
from torrentlite.api.query import DEFAULT_LIMIT, MAX_LIMIT, Query, parse_paging
from torrentlite.api.special_filters import field_params, special_filters
from torrentlite.api.represent import Context, Representer, list_uri
from torrentlite.store.db import Store
from torrentlite.store.fields import fits_int64
from torrentlite.store.layout import INDEXES
from torrentlite.store.models import column, fk_column
from torrentlite.store.registry import Resource

_DEFAULT_LIMITS = {"referencegenome": 0}
_PROBE_LIMIT, _PROBE_OFFSET = 987654321, 123456789
_UNCAPPED = ("content", "contentupload")


def schema_document(resource: Resource) -> dict:
    """The `schema/` document, generated from the resource's reference page."""
    fields = {}
    for fs in resource.spec.fields:
        entry = {"blank": fs.blank, "default": fs.schema_default(), "help_text": fs.help,
                 "nullable": fs.nullable, "readonly": fs.readonly, "type": fs.type, "unique": fs.unique}
        if fs.is_related:
            entry["related_type"] = "to_many" if fs.to_many else "to_one"
        fields[fs.name] = entry
    doc = {"allowed_detail_http_methods": list(resource.detail_methods),
           "allowed_list_http_methods": list(resource.list_methods),
           "default_format": "application/json",
           "default_limit": _DEFAULT_LIMITS.get(resource.name, DEFAULT_LIMIT),
           "fields": fields}
    if resource.filtering:
        doc["filtering"] = resource.filtering
    if resource.ordering:
        doc["ordering"] = list(resource.ordering)
    return doc


class ReadHandler:
    """List, detail and set reads of any table-backed resource."""

    def __init__(self, store: Store, settings=None):
        self.store = store
        self.settings = settings
        self.query = Query(store)
        self.representer = Representer(store)
        self._page_sql: dict = {}

    def context(self, params, *, detail=False, user=None) -> Context:
        ctx = Context(self.store, params, detail=detail, user=user, settings=self.settings)
        ctx.representer = self.representer
        return ctx

    def conditions(self, resource: Resource, params: dict, *, listing: bool = True) -> list:
        conds = self.query.view_conditions(resource, listing=listing)
        conds += self.query.filters_from_params(resource, field_params(resource, params))
        conds += special_filters(self, resource, params)
        return conds

    def order(self, resource: Resource, params: dict) -> list:
        keys = params.get("order_by") or params.get("sort_by") or []
        model = self.store.model(resource.table)
        pk = column(model, self.store.registry.tables[resource.table].pk)
        if keys:
            terms = self.query.ordering(resource, keys)
        elif resource.rule.order:
            terms = self.query.ordering(resource, resource.rule.order, check=False)
        else:
            terms = [pk.desc()]
        return terms + [pk.desc()]

    def list(self, resource: Resource, params: dict, *, path: str, user=None, count: bool = True) -> dict:
        default_limit = _DEFAULT_LIMITS.get(resource.name, DEFAULT_LIMIT)
        max_limit = None if resource.name in _UNCAPPED else MAX_LIMIT
        limit, offset = parse_paging(params, default_limit, max_limit)
        if max_limit is not None and limit == 0:
            limit = MAX_LIMIT
        # The conditions are built in the read's transaction: a search condition may name the rows
        # its index found, which must be the rows the count and the page then read.
        with self.store.read():
            arv = arvados.parse(self, resource, params)
            conds = self.conditions(resource, params) + arv.conditions
            order_params = {**params, "order_by": arv.order} if arv.order else params
            order = self.order(resource, order_params)
            order_key = tuple(order_params.get("order_by") or order_params.get("sort_by") or ())
            count = count and arv.count
            ctx = self.context(params, user=user)
            where = _and(conds)
            total = self.store.reader.count(resource.table, where) if count else None
            rows = self._page(resource, where, order, limit, offset, order_key)
            objects = arv.project(self.representer.dehydrate(resource, rows, ctx))
        meta = {"limit": limit, "offset": offset}
        if total is not None:
            meta["total_count"] = total
        if limit:
            meta["previous"] = _page_link(path, params, offset - limit, limit) if offset - limit >= 0 else None
            more = (offset + limit < total) if total is not None else len(rows) == limit
            meta["next"] = _page_link(path, params, offset + limit, limit) if more else None
        return {"meta": meta, "objects": objects}

    def _page(self, resource, where, order, limit, offset, order_key) -> list[dict]:
        if len(order_key) == 1 and limit:
            rows = self._page_through_relation(resource, where, order_key[0], limit, offset)
            if rows is not None:
                return rows
        if where is not None:
            return self.store.reader.query(resource.table, where, order, limit, offset)
        # An unfiltered page (the most common request) differs only in LIMIT/OFFSET: build its SQL
        # once per order instead of through peewee every time.
        key = (resource.table, order_key)
        cached = self._page_sql.get(key)
        if cached is None:
            model = self.store.model(resource.table)
            sql, params = model.select(SQL("*")).order_by(*order).limit(_PROBE_LIMIT).offset(_PROBE_OFFSET).sql()
            if list(params[-2:]) != [_PROBE_LIMIT, _PROBE_OFFSET]:
                return self.store.reader.query(resource.table, where, order, limit, offset)
            cached = self._page_sql[key] = (sql, list(params[:-2]))
        sql, params = cached
        return self.store.reader.execute(resource.table, sql, params + [limit or -1, offset])

    def _page_through_relation(self, resource, where, key: str, limit: int, offset: int) -> Optional[list[dict]]:
        """A page ordered by one indexed column of a to-one relation (`-experiment__date`), read in
        index order instead of sorting every row by a per-row subquery; None when that does not apply.

        The rows come in two groups, as PostgreSQL orders them: those with no related value (NULLs:
        first descending, last ascending, by pk descending among themselves) and those with one.
        """
        desc = key.startswith("-")
        path = key.lstrip("-").split("__")
        registry = self.store.registry
        table = registry.tables[resource.table]
        link = table.links.get(path[0]) if len(path) == 2 else None
        if link is None or link.kind != "fk" or path[1] not in INDEXES.get(link.table, ()):
            return None
        model = self.store.model(resource.table)
        pk, fk = column(model, table.pk), column(model, fk_column(path[0]))
        target = self.store.model(link.table)
        target_pk, value = column(target, registry.tables[link.table].pk), column(target, path[1])
        no_value = fk.is_null(True) | fk.in_(target.select(target_pk).where(value.is_null(True)))
        # Keys first, rows after: the sort for ties carries only the keys, not every column of
        # each row the offset steps over.
        keys = model.select(pk)
        nulls = keys.where(_and([c for c in (where, no_value) if c is not None])).order_by(pk.desc())
        valued = (keys.join(target, on=(target_pk == fk)).where(_and([c for c in (where, value.is_null(False))
                                                                      if c is not None]))
                  .order_by(value.desc() if desc else value.asc(), pk.desc()))
        first, second = (nulls, valued) if desc else (valued, nulls)
        found = self._keys(first.limit(limit).offset(offset))
        if len(found) < limit:
            before = offset if found else self._rows_count(resource.table, first)
            found += self._keys(second.limit(limit - len(found)).offset(max(0, offset - before)))
        by_key = {row[table.pk]: row for row in self.store.reader.where_in(resource.table, table.pk, found)}
        return [by_key[k] for k in found]

    def _keys(self, query) -> list:
        sql, params = query.sql()
        return [r[0] for r in self.store.db.execute_sql(sql, params).fetchall()]

    def _rows_count(self, table: str, query) -> int:
        sql, params = query.order_by().select(fn.COUNT(SQL("*"))).sql()
        return self.store.db.execute_sql(sql, params).fetchone()[0]

    def rows_for_keys(self, resource: Resource, keys: list) -> dict:
        # A key too large to be stored names no row (and SQLite could not even compare it).
        keys = [k for k in keys if not isinstance(k, int) or fits_int64(k)]
        if not keys:
            return {}
        model = self.store.model(resource.table)
        key_field = column(model, resource.detail_key)
        conds = self.query.view_conditions(resource, listing=False) + [key_field.in_(keys)]
        ctx = self.context({})
        return {row[resource.detail_key]: row for row in ctx.fetch(resource.table, _and(conds))}

    def parse_key(self, resource: Resource, raw: str):
        col = self.store.registry.tables[resource.table].columns[resource.detail_key]
        if col.kind == "integer":
            try:
                return int(raw)
            except ValueError:
                raise canned(404)
        return raw

    def detail(self, resource: Resource, raw_key: str, params: dict, *, user=None) -> dict:
        key = self.parse_key(resource, raw_key)
        ctx = self.context(params, detail=True, user=user)
        with self.store.read():
            row = self.rows_for_keys(resource, [key]).get(key)
            if row is None:
                raise not_found()
            return self.representer.dehydrate(resource, [row], ctx)[0]

    def multiple(self, resource: Resource, raw_ids: str, params: dict, *, user=None) -> dict:
        raw_list = [i for i in raw_ids.split(";") if i != ""]
        keys = [self.parse_key(resource, raw) for raw in raw_list]
        ctx = self.context(params, user=user)
        with self.store.read():
            rows = self.rows_for_keys(resource, keys)
            found = [rows[k] for k in keys if k in rows]
            objects = self.representer.dehydrate(resource, found, ctx)
        body = {"objects": objects}
        missing = [raw for raw, k in zip(raw_list, keys) if k not in rows]
        if missing:
            body["not_found"] = missing
        return body


def _and(conds):
    if not conds:
        return None
    expr = conds[0]
    for cond in conds[1:]:
        expr = expr & cond
    return expr


def _page_link(path: str, params: dict, offset: int, limit: int) -> str:
    rest = [(k, v) for k, values in params.items() if k not in ("limit", "offset") for v in values]
    return f"{path}?{urlencode([('offset', offset), ('limit', limit)] + rest)}"


def list_path(resource: Resource) -> str:
    return list_uri(resource.name)

