"""Rows to tastypie-shaped objects: URIs, nested objects and computed fields, a page at a time."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from typing import Callable, Iterable, Optional

from torrentlite.store.db import Store
from torrentlite.store.layout import NESTED_SHAPES, Link
from torrentlite.store.models import fk_column, join_for
from torrentlite.store.registry import FieldDef, Resource

API_PREFIX = "/rundb/api/v1/"
MESH_PREFIX = "/rundb/api/mesh/v1/"

# (resource, field) -> fn(ctx, rows) -> list of values, one per row. Filled by api.computed.
COMPUTERS: dict[tuple[str, str], Callable] = {}


def computes(resources: Iterable[str] | str, *fields: str):
    """Register a batch function computing `fields` (one call per page) for `resources`."""
    names = (resources,) if isinstance(resources, str) else tuple(resources)

    def register(fn):
        for resource in names:
            for name in fields:
                COMPUTERS[(resource, name)] = fn if len(fields) == 1 else _pick(fn, name)
        return fn
    return register


def _pick(fn, name):
    def one(ctx, rows):
        return [values.get(name) for values in ctx.memo((fn, id(rows)), lambda: fn(ctx, rows))]
    return one


def list_uri(name: str) -> str:
    # Under /rundb/api/v1/ every link is a v1 link, compositeexperiment's too (the real server writes mesh
    # links there, a reverse-URL clash); http.serve_mesh rewrites them for the mesh list.
    return f"{API_PREFIX}{name}/"


def to_mesh_links(body):
    """``body`` with every compositeexperiment URI moved from the v1 prefix to the mesh prefix."""
    v1 = f"{API_PREFIX}compositeexperiment/"
    if isinstance(body, (bytes, bytearray)):
        # An encoded JSON (or JSONP) page: every such URI is a JSON string, so it follows a quote.
        mesh = f"{MESH_PREFIX}compositeexperiment/"
        return bytes(body).replace(b'"' + v1.encode(), b'"' + mesh.encode())
    if isinstance(body, str):
        return MESH_PREFIX + body[len(API_PREFIX):] if body.startswith(v1) else body
    if isinstance(body, dict):
        return {key: to_mesh_links(value) for key, value in body.items()}
    if isinstance(body, list):
        return [to_mesh_links(value) for value in body]
    return body


def detail_uri(name: str, key) -> str:
    return f"{list_uri(name)}{key}/"


def wire_value(value):
    """A stored Python value as the real server writes it (datetimes ISO with +00:00, %.15g floats)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
        return float(format(value, ".15g"))
    return value


class Context:
    """Per-request state: the store, query parameters, and per-page caches of related rows."""

    def __init__(self, store: Store, params: Optional[dict] = None, *, detail: bool = False, user=None,
                 settings=None):
        self.store = store
        self.params = params or {}
        self.detail = detail
        self.user = user
        self.settings = settings
        self._memo: dict = {}

    def memo(self, key, make):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def param(self, name: str, default=None):
        values = self.params.get(name)
        return values[-1] if values else default

    # -- row access --------------------------------------------------------------------------
    @property
    def reader(self):
        return self.store.reader

    def fetch(self, table: str, where=None, order=None) -> list[dict]:
        return self.reader.query(table, where, order)

    def rows_by_pk(self, table: str, keys: Iterable, columns: Optional[tuple] = None) -> dict:
        """Rows of `table` by primary key; `columns` (which must include the key) reads only those."""
        keys = [k for k in {k for k in keys if k is not None}]
        if not keys:
            return {}
        pk = self.store.registry.tables[table].pk
        return self.memo(("rows_by_pk", table, columns, frozenset(keys)), lambda: {
            row[pk]: row for row in self.reader.where_in(table, pk, keys, columns=columns)})

    def children(self, table: str, via: str, parent_ids: Iterable, link_only: bool = False) -> dict[int, list]:
        """Rows of `table` whose fk `via` points at one of `parent_ids`, grouped by parent, newest first."""
        ids = [i for i in set(parent_ids) if i is not None]
        if not ids:
            return {}
        fk = fk_column(via)
        pk = self.store.registry.tables[table].pk
        grouped = defaultdict(list)
        if link_only:
            for parent, child in self.reader.pairs(table, fk, pk, ids, pk):
                grouped[parent].append(child)
            return grouped
        for row in self.reader.where_in(table, fk, ids, order_desc=pk):
            grouped[row[fk]].append(row)
        return grouped

    def linked(self, table: str, name: str, link: Link, ids: Iterable) -> dict[int, list]:
        """Target pks of an m2m field for each of `ids` (either side of the join table)."""
        ids = [i for i in set(ids) if i is not None]
        if not ids:
            return {}
        jt = join_for(table, name, link)
        mine, theirs = ("src_id", "dst_id") if link.kind == "m2m" else ("dst_id", "src_id")
        grouped = defaultdict(list)
        for a, b in self.reader.pairs(jt.name, mine, theirs, ids, theirs):
            grouped[a].append(b)
        return grouped


class Representer:
    """Turns rows of a resource's table into the objects the API sends."""

    def __init__(self, store: Store):
        self.store = store
        self.registry = store.registry

    def dehydrate(self, resource: Resource, rows: list[dict], ctx: Context) -> list[dict]:
        if not rows:
            return []
        table = self.registry.tables[resource.table]
        objects = [{} for _ in rows]
        names = list(resource.fields) + list(resource.extra_keys)
        for name in names:
            fd = resource.fields.get(name)
            values = self._values(resource, table.name, fd, name, rows, ctx)
            if values is None:
                continue
            for obj, value in zip(objects, values):
                obj[name] = value
        return objects

    def _values(self, resource: Resource, table: str, fd: Optional[FieldDef], name: str, rows, ctx):
        if fd is None or fd.source == "computed":
            fn = COMPUTERS.get((resource.name, name))
            if fn is None:
                raise LookupError(f"no computation for {resource.name}.{name}")
            return fn(ctx, rows)
        if fd.source == "uri":
            if resource.name in ("availableionchefplannedexperiment", "availableionchefplannedexperimentsummary"):
                return None
            key = resource.detail_key
            return [detail_uri(resource.name, row[key]) for row in rows]
        if fd.source == "column":
            kind = self.registry.tables[table].columns[name].kind
            if kind == "bigint":
                return [None if row[name] is None else str(row[name]) for row in rows]
            if kind == "json":
                return [row[name] if row[name] is not None else {} for row in rows]
            if kind in ("string", "integer", "boolean"):
                return [row[name] for row in rows]
            return [wire_value(row[name]) for row in rows]
        return self._relation_values(table, fd, rows, ctx)

    def _relation_values(self, table: str, fd: FieldDef, rows, ctx: Context):
        link = fd.link
        pk = self.registry.tables[table].pk
        target_name = fd.target
        if link.kind == "fk":
            keys = [row[fk_column(fd.name)] for row in rows]
            if not fd.nested:
                uris = self.related_uris(target_name, link.table, keys, ctx)
                return [uris.get(k) for k in keys]
            nested = self.nested_objects(target_name, link.table, keys, ctx)
            return [nested.get(k) for k in keys]
        ids = [row[pk] for row in rows]
        if link.kind in ("reverse", "reverse_one"):
            groups = ctx.children(link.table, link.via, ids, link_only=not fd.nested)
        else:
            groups = ctx.linked(table, fd.name, link, ids)
        if fd.nested:
            if link.kind in ("reverse", "reverse_one"):
                flat = [r for group in groups.values() for r in group]
                target_pk = self.registry.tables[link.table].pk
                keyed = self.nested_objects(target_name, link.table, [r[target_pk] for r in flat], ctx,
                                            rows={r[target_pk]: r for r in flat})
                groups = {parent: [keyed[r[target_pk]] for r in group] for parent, group in groups.items()}
            else:
                flat = {k for group in groups.values() for k in group}
                keyed = self.nested_objects(target_name, link.table, flat, ctx)
                groups = {parent: [keyed[k] for k in group if k in keyed] for parent, group in groups.items()}
        else:
            uris = self.related_uris(target_name, link.table, [k for group in groups.values() for k in group], ctx)
            groups = {parent: [uris[k] for k in group if k in uris] for parent, group in groups.items()}
        if link.kind == "reverse_one":
            return [(groups.get(i) or [None])[-1] for i in ids]
        return [groups.get(i, []) for i in ids]

    def related_uris(self, target_name: str, table: str, keys, ctx: Context) -> dict:
        """Detail URIs of `target_name` rows by pk, addressed by the target's detail key (a publisher by name)."""
        target = self.registry.get(target_name)
        keys = [k for k in keys if k is not None]
        pk = self.registry.tables[table].pk
        if target is None or target.detail_key == pk:
            return {k: detail_uri(target_name, k) for k in keys}
        rows = ctx.rows_by_pk(table, keys, (pk, target.detail_key))
        return {k: detail_uri(target_name, row[target.detail_key]) for k, row in rows.items()}

    def nested_objects(self, target_name: str, table: str, keys, ctx: Context, rows: Optional[dict] = None) -> dict:
        """Full objects of `target_name` for `keys`, keyed by pk."""
        rows = rows if rows is not None else ctx.rows_by_pk(table, keys)
        if not rows:
            return {}
        ordered_keys = list(rows)
        if target_name in NESTED_SHAPES:
            _, keys_shown = NESTED_SHAPES[target_name]
            objs = []
            for k in ordered_keys:
                row = rows[k]
                obj = {n: self._shape_value(table, n, row) for n in keys_shown}
                obj["resource_uri"] = ""
                objs.append(obj)
        else:
            target = self.registry[target_name]
            objs = self.dehydrate(target, [rows[k] for k in ordered_keys], ctx)
        return dict(zip(ordered_keys, objs))

    def _shape_value(self, table: str, name: str, row: dict):
        col = self.registry.tables[table].columns.get(name)
        value = row.get(name)
        if col is not None and col.kind == "bigint" and value is not None:
            return str(value)
        return wire_value(value)
