"""Request bodies to rows: value conversion, related-field resolution and saving one object.

Everything here runs inside the caller's `store.write()` transaction and reports bad input by
raising `ApiError` (400), so a rejected request rolls back whole.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from torrentlite.api.errors import ApiError, bad_request
from torrentlite.api.json_text import parse_json
from torrentlite.store.fields import fits_int64, to_utc
from torrentlite.store.load import set_links
from torrentlite.store.models import _fk_nullable, column, fk_column
from torrentlite.store.registry import Column, FieldDef, Resource

TRUE_WORDS = ("true", "t", "yes", "y", "1", "on")
FALSE_WORDS = ("false", "f", "no", "n", "none", "0", "off", "")
_URI = re.compile(r"^/rundb/api/(?:mesh/)?v1/(?P<name>[^/]+)/(?P<key>[^/]+)/?$")


def parse_bool(value, name: str) -> bool:
    """A boolean from JSON or text.

    The real server passes strings through Django's `bool()`, so `"false"` is stored as True
    everywhere except in the plan resources. That is a bug; here every resource parses words.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise bad_request(f"The '{name}' field expects a boolean (true or false), got {value!r}.")


def convert(col: Column, value, name: str):
    """`value` from a request body as the Python value stored in `col`; 400 if it does not fit."""
    kind = col.kind
    if kind == "string":
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, (str, int, float)):
            return str(value)
        raise bad_request(f"The '{name}' field expects a string, got {json.dumps(value)}.")
    if kind in ("integer", "bigint"):
        number = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
            number = int(value)
        elif isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                pass
        if number is None:
            raise bad_request(f"The '{name}' field expects an integer, got {json.dumps(value)}.")
        if not fits_int64(number):
            raise bad_request(f"The '{name}' field expects an integer that fits in 64 bits, got {number}.")
        return number
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        else:
            number = None
        if number is None or not math.isfinite(number):
            raise bad_request(f"The '{name}' field expects a number, got {json.dumps(value)}.")
        return number
    if kind == "boolean":
        return parse_bool(value, name)
    if kind == "datetime":
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return to_utc(value)
        except (ValueError, OverflowError, TypeError):
            raise bad_request(f"Datetime provided to '{name}' field doesn't appear to be a valid datetime "
                              f"string: '{value}'")
    if kind == "json":
        if isinstance(value, str):
            try:
                value = parse_json(value) if value.strip() else {}
            except ValueError:
                raise bad_request(f"The '{name}' field expects a JSON object or a string holding one.")
        if not isinstance(value, (dict, list)):
            raise bad_request(f"The '{name}' field expects a JSON object or a string holding one.")
        return value
    return value


@dataclass
class WriteContext:
    """Who writes, and what the request already created (for the response)."""

    user: object
    created: list = field(default_factory=list)


class Hydrator:
    """Turns request bodies into saved rows of one store."""

    def __init__(self, store):
        self.store = store
        self.registry = store.registry

    # -- rows ---------------------------------------------------------------------------------
    def table_of(self, resource: Resource):
        return self.registry.tables[resource.table]

    def pk_field(self, table: str):
        return column(self.store.model(table), self.registry.tables[table].pk)

    def exists(self, table: str, key) -> bool:
        model = self.store.model(table)
        return model.select(self.pk_field(table)).where(self.pk_field(table) == key).exists()

    def key_of(self, resource: Resource, raw):
        """A detail key from a URL segment as the type its column holds (None if it cannot be)."""
        col = self.table_of(resource).columns.get(resource.detail_key)
        if col is not None and col.kind == "integer":
            try:
                number = int(raw)
                return number if fits_int64(number) else None
            except (TypeError, ValueError):
                return None
        return str(raw)

    def pk_for_key(self, resource: Resource, key, conditions=()) -> Optional[object]:
        """The primary key of the row whose detail key is `key` (within `conditions`), or None."""
        model = self.store.model(resource.table)
        pk = self.pk_field(resource.table)
        query = model.select(pk).where(column(model, resource.detail_key) == key, *conditions)
        row = query.tuples().first()
        return row[0] if row else None

    # -- related input ------------------------------------------------------------------------
    def find_uri(self, target: str, text) -> Optional[object]:
        """The pk of the row `text` (a relative or absolute detail URI) names in `target`'s table, or None."""
        if not isinstance(text, str):
            return None
        path = urlsplit(text).path if "://" in text else text.split("?")[0]
        match = _URI.match(path)
        if match is None:
            return None
        resource = self.registry.get(match["name"])
        if resource is None or resource.table is None or resource.table != self.registry[target].table:
            return None
        key = self.key_of(resource, match["key"])
        return None if key is None else self.pk_for_key(resource, key)

    def resolve_uri(self, target: str, text: str) -> object:
        """Like `find_uri`, but a URI that names no row is a 400."""
        pk = self.find_uri(target, text)
        if pk is None:
            raise bad_request(f"Could not find the provided object via resource URI '{text}'.")
        return pk

    def related_pk(self, fd: FieldDef, value, ctx: WriteContext, preset: Optional[dict] = None) -> object:
        """The pk of the related row given as a URI or a dict (looked up, updated or created)."""
        target = self.registry[fd.target]
        if isinstance(value, str):
            return self.resolve_uri(fd.target, value)
        if isinstance(value, dict):
            body = dict(value)
            uri = body.pop("resource_uri", None)
            pk_name = self.registry.tables[target.table].pk
            key = body.pop("pk", None)
            key = body.get(pk_name, key) if key is None else key
            existing = None
            if uri:
                existing = self.resolve_uri(fd.target, uri)
            elif key is not None:
                coerced = self.key_of(target, key) if pk_name == target.detail_key else key
                if coerced is not None and self.exists(target.table, coerced):
                    existing = coerced
            if existing is not None:
                body.pop(pk_name, None)
                if body or preset:
                    self.require(ctx, "change", target.table)
                    self.save(target, body, ctx, key=existing, preset=preset)
                return existing
            self.require(ctx, "add", target.table)
            return self.save(target, body, ctx, preset=preset)
        raise bad_request(f"The '{fd.name}' field was given data that was not a URI, not a dictionary-alike and "
                          f"does not have a 'pk' attribute: {value}.")

    def require(self, ctx: WriteContext, action: str, table: str) -> None:
        if ctx.user is None or not ctx.user.can(action, table):
            raise ApiError(401)

    # -- saving -------------------------------------------------------------------------------
    def split(self, resource: Resource, body: dict, ctx: WriteContext):
        """(column values, to-many values) of a body; unknown, readonly and computed keys dropped."""
        table = self.table_of(resource)
        values, many = {}, {}
        for name, value in body.items():
            fd = resource.fields.get(name)
            if fd is None or fd.source not in ("column", "relation") or fd.spec.readonly and name != "id":
                continue
            if fd.source == "column":
                col = table.columns[name]
                if value is None:
                    if col.nullable:
                        values[name] = None
                    continue  # null on a NOT NULL column is ignored, as on the real server
                values[name] = convert(col, value, name)
                continue
            link = fd.link
            if fd.target not in self.registry.resources or self.registry[fd.target].table is None:
                continue  # helper objects with no resource of their own are shown, never written
            if link.kind == "fk":
                if value is None:
                    if _fk_nullable(self.registry, table, name):
                        values[fk_column(name)] = None
                    continue
                values[fk_column(name)] = self.related_pk(fd, value, ctx)
            elif value is not None:
                many[name] = value
        return values, many

    def missing_required(self, resource: Resource, values: dict) -> Optional[str]:
        table = self.table_of(resource)
        for col in table.columns.values():
            if col.nullable or col.default is not None or col.auto_now or col.kind == "json":
                continue
            if col.name == table.pk and col.kind == "integer":
                continue
            if values.get(col.name) is None:
                return col.name
        for name, link in table.links.items():
            if link.kind == "fk" and not _fk_nullable(self.registry, table, name) \
                    and values.get(fk_column(name)) is None:
                return name
        return None

    def save(self, resource: Resource, body: dict, ctx: WriteContext, *, key=None,
             preset: Optional[dict] = None, values: Optional[dict] = None) -> object:
        """Create (key None) or update row `key` of `resource`'s table from `body`; returns the pk."""
        if not isinstance(body, dict):
            raise bad_request(f"Each {resource.name} object must be a JSON object, got {json.dumps(body)}.")
        table = self.table_of(resource)
        model = self.store.model(table.name)
        own, many = self.split(resource, body, ctx)
        own.update(values or {})
        own.update(preset or {})
        if key is None and own.get(table.pk) is not None and self.exists(table.name, own[table.pk]):
            key = own[table.pk]  # POST with an existing id overwrites that row, as Django's save does
        if key is None:
            missing = self.missing_required(resource, own)
            if missing is not None:
                raise bad_request(f"The '{missing}' field has no data and doesn't allow a null value.")
            fields = {model._meta.columns[c]: v for c, v in own.items()}
            inserted = model.insert(fields).execute()
            key = own.get(table.pk) if own.get(table.pk) is not None else inserted
            ctx.created.append((table.name, key))
        else:
            own.pop(table.pk, None)
            if own:
                fields = {model._meta.columns[c]: v for c, v in own.items()}
                model.update(fields).where(self.pk_field(table.name) == key).execute()
        for name, value in many.items():
            self.set_many(resource, resource.fields[name], key, value, ctx)
        return key

    def set_many(self, resource: Resource, fd: FieldDef, key, value, ctx: WriteContext) -> None:
        """Replace a to-many (or reverse to-one) relation of row `key` with the given URIs/dicts."""
        items = value if isinstance(value, list) else [value]
        link = fd.link
        table = self.table_of(resource)
        if link.kind in ("m2m", "m2m_reverse"):
            targets = [self.related_pk(fd, item, ctx) for item in items]
            set_links(self.store, table.name, fd.name, key, targets)
            return
        child_table = self.registry.tables[link.table]
        child_model = self.store.model(link.table)
        via = column(child_model, fk_column(link.via))
        preset = {fk_column(link.via): key}
        children = [self.related_pk(fd, item, ctx, preset=preset) for item in items]
        if children:
            child_model.update({via: key}).where(self.pk_field(link.table).in_(children)).execute()
        if _fk_nullable(self.registry, child_table, link.via):
            stale = via == key
            if children:
                stale = stale & self.pk_field(link.table).not_in(children)
            child_model.update({via: None}).where(stale).execute()
