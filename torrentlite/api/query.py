"""List queries: tastypie filters with relation traversal, order_by, limit/offset — as SQL."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import peewee
from peewee import fn

from torrentlite.api.errors import bad_request
from torrentlite.store.db import Store
from torrentlite.store.fields import fits_int64, to_utc
from torrentlite.store.layout import Link
from torrentlite.store import search
from torrentlite.store.models import column, fk_column, join_for
from torrentlite.store.time_limit import pattern_error
from torrentlite.store.registry import Resource

LOOKUPS = ("exact", "iexact", "contains", "icontains", "in", "gt", "gte", "lt", "lte", "startswith",
           "istartswith", "endswith", "iendswith", "range", "year", "month", "day", "week_day", "hour",
           "minute", "second", "isnull", "search", "regex", "iregex")
# Used only by the server's own view rules, never accepted from a query string.
PRIVATE_LOOKUPS = ("ne",)
NULL_WORDS = ("None", "none", "nil")
# Lookups a trigram index can narrow (see store/search.py).
SUBSTRING_LOOKUPS = ("contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact")
MISMATCH = "Invalid resource lookup data provided (mismatched type)."
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def split_lookup(key: str, allow_private: bool = False) -> tuple[list[str], str]:
    parts = key.split("__")
    known = LOOKUPS + (PRIVATE_LOOKUPS if allow_private else ())
    if len(parts) > 1 and parts[-1] in known:
        return parts[:-1], parts[-1]
    return parts, "exact"


def truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "t", "y", "on"):
        return True
    if text in ("false", "0", "no", "f", "n", "off", ""):
        return False
    raise bad_request(f"Invalid boolean value {value!r}: use true or false.")


def _coerce(kind: str, value, name: str):
    if value is None or isinstance(value, bool) and kind == "boolean":
        return value
    try:
        if kind in ("integer", "bigint", "pk"):
            number = int(value)
            if not fits_int64(number):
                raise bad_request(MISMATCH)
            return number
        if kind == "float":
            return float(value)
    except (TypeError, ValueError):
        raise bad_request(MISMATCH)
    if kind == "boolean":
        return truthy(value)
    if kind == "datetime":
        try:
            return to_utc(value)
        except (ValueError, OverflowError, TypeError):
            raise bad_request(f"Datetime provided to '{name}' field doesn't appear to be a valid datetime "
                              f"string: '{value}'")
    return str(value)


_DATE_PARTS = {"year": ("%Y", 4), "month": ("%m", 2), "day": ("%d", 2), "hour": ("%H", 2),
               "minute": ("%M", 2), "second": ("%S", 2)}


def _to_sql_value(field: peewee.Field, value):
    return field.db_value(value) if value is not None else None


def column_expr(field: peewee.Field, kind: str, lookup: str, value, name: str):
    """The SQL condition for one lookup on one column, with PostgreSQL's case rules."""
    if lookup == "isnull":
        return field.is_null(truthy(value))
    if lookup in ("in", "range"):
        values = [_coerce(kind, v, name) for v in value]
        if lookup == "range":
            if len(values) != 2:
                raise bad_request(f"The 'range' filter on '{name}' needs exactly two values.")
            return field.between(_to_sql_value(field, values[0]), _to_sql_value(field, values[1]))
        return field.in_([_to_sql_value(field, v) for v in values])
    if lookup in _DATE_PARTS:
        fmt, width = _DATE_PARTS[lookup]
        number = _coerce("integer", value, name)
        return fn.strftime(fmt, field) == str(number).zfill(width)
    if lookup == "week_day":
        number = _coerce("integer", value, name)
        return fn.strftime("%w", field) == str(number - 1)
    if lookup == "search":
        raise bad_request("The 'search' filter is not supported; use 'icontains' or 'regex'.")
    if lookup in ("regex", "iregex"):
        return regex_match(field, str(value), lookup == "iregex", name)
    if lookup in ("contains", "icontains", "startswith", "istartswith", "endswith", "iendswith", "iexact"):
        text = str(value)
        target = field
        if lookup.startswith("i"):
            if text.isascii():
                return _ascii_like(field, lookup[1:], text)
            text, target = text.lower(), fn.tl_lower(field)
        base = lookup[1:] if lookup.startswith("i") else lookup
        if base == "contains":
            return fn.instr(target, text) > 0
        if base == "startswith":
            return fn.substr(target, 1, len(text)) == text
        if base == "endswith":
            return (fn.substr(target, -len(text)) == text) if text else field.is_null(False)
        return target == text
    if value is None:
        return field.is_null(lookup != "ne")
    coerced = _coerce(kind, value, name)
    sql_value = _to_sql_value(field, coerced)
    ops = {"exact": field == sql_value, "gt": field > sql_value, "gte": field >= sql_value,
           "lt": field < sql_value, "lte": field <= sql_value, "ne": field != sql_value}
    return ops[lookup]


def regex_match(field, pattern: str, ignore_case: bool, name: str):
    """PostgreSQL's `~` / `~*`; a pattern that does not compile is a 400 (PostgreSQL raises an error too)."""
    error = pattern_error(pattern, ignore_case)
    if error:
        raise bad_request(f"The regular expression given to '{name}' is invalid: {error}")
    return (fn.tl_iregexp if ignore_case else fn.tl_regexp)(pattern, field)


def _ascii_like(field, base: str, text: str):
    """Case-insensitive match of an ASCII needle with SQLite's LIKE, which folds exactly ASCII.

    Same answers as lowering both sides (bar two code points, KELVIN SIGN and dotted capital I,
    that Unicode lowercases to ASCII) at a fraction of the cost of calling into Python per row.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}",
               "exact": escaped}[base]
    return peewee.NodeList((field, peewee.SQL("LIKE"), pattern, peewee.SQL("ESCAPE '\\'")))


@dataclass
class Query:
    """Builds SQL for one resource against the store's models."""

    store: Store

    def model(self, resource: Resource):
        return self.store.model(resource.table)

    def pk_field(self, table: str) -> peewee.Field:
        model = self.store.model(table)
        return column(model, self.store.registry.tables[table].pk)

    # -- filters ---------------------------------------------------------------------------
    def condition(self, resource: Resource, parts: list[str], lookup: str, value, *, check: bool = True,
                  allow_private: bool = False):
        """The condition for `field__...__lookup=value` on `resource`'s table."""
        name = parts[0]
        fd = resource.fields.get(name)
        table = self.store.registry.tables[resource.table]
        link = fd.link if fd is not None else table.links.get(name)
        if fd is None and not (allow_private and (name in table.columns or link)):
            raise bad_request(f"The '{name}' field does not allow filtering.")
        if check:
            self._check_filterable(resource, name, lookup)
        model = self.model(resource)
        if len(parts) > 1:
            if link is None:
                raise bad_request(f"The '{name}' field does not support relations.")
            target = self._target_resource(fd, link)
            inner = self.condition(target, parts[1:], lookup, value, check=check, allow_private=allow_private)
            return self._through(resource.table, name, link, inner, target)
        if link is not None and (fd is None or fd.source != "computed" or fd.link is not None):
            if isinstance(value, str) and value.startswith("/"):
                raise bad_request(MISMATCH)
            target_pk_kind = "pk" if self.store.registry.tables[link.table].pk == "id" else "string"
            if link.kind == "fk":
                return column_expr(column(model, fk_column(name)), target_pk_kind, lookup, value, name)
            target_table = link.table
            target_model = self.store.model(target_table)
            inner = column_expr(self.pk_field(target_table), target_pk_kind, lookup, value, name)
            return self._link_subquery(resource.table, name, link, target_model, inner)
        if name not in table.columns:
            raise bad_request(f"The '{name}' field does not allow filtering.")
        col = table.columns[name]
        expr = column_expr(column(model, name), col.kind, lookup, value, name)
        if lookup in SUBSTRING_LOOKUPS and value is not None:
            narrow = search.narrowing(self.store.db, resource.table, name, self.pk_field(resource.table), [str(value)],
                                      case_insensitive=lookup.startswith("i"))
            if narrow is not None:
                return narrow & expr
        return expr

    def _check_filterable(self, resource: Resource, name: str, lookup: str):
        allowed = resource.filtering.get(name)
        if allowed is None:
            raise bad_request(f"The '{name}' field does not allow filtering.")
        if isinstance(allowed, list) and lookup not in allowed:
            raise bad_request(f"'{lookup}' is not an allowed filter on the '{name}' field.")

    def _target_resource(self, fd, link: Link) -> Resource:
        registry = self.store.registry
        if fd is not None and fd.target in registry.resources and registry[fd.target].table == link.table:
            return registry[fd.target]
        owner = registry.tables[link.table].owner
        if owner and owner in registry.resources:
            return registry[owner]
        raise bad_request(f"The '{fd.name if fd else link.table}' field does not support relations.")

    def _through(self, table: str, name: str, link: Link, inner, target: Resource):
        target_model = self.store.model(target.table)
        return self._link_subquery(table, name, link, target_model, inner)

    def _link_subquery(self, table: str, name: str, link: Link, target_model, inner):
        """`pk IN (...)` / `fk IN (...)` tying rows of `table` to target rows matching `inner`."""
        model = self.store.model(table)
        own_pk = self.pk_field(table)
        target_pk = self.pk_field(link.table)
        if link.kind == "fk":
            return column(model, fk_column(name)).in_(target_model.select(target_pk).where(inner))
        if link.kind in ("reverse", "reverse_one"):
            via = column(target_model, fk_column(link.via))
            return own_pk.in_(target_model.select(via).where(inner & via.is_null(False)))
        jt = join_for(table, name, link)
        join_model = self.store.model(jt.name)
        mine, theirs = (join_model.src_id, join_model.dst_id) if link.kind == "m2m" else \
            (join_model.dst_id, join_model.src_id)
        return own_pk.in_(join_model.select(mine).where(theirs.in_(target_model.select(target_pk).where(inner))))

    def filters_from_params(self, resource: Resource, params: dict[str, list[str]]):
        """Every query parameter whose first segment names a field becomes a condition (ANDed)."""
        conditions = []
        for key, values in params.items():
            parts, lookup = split_lookup(key)
            if parts[0] not in resource.fields:
                continue
            if lookup in ("in", "range"):
                value = [v for raw in values for v in raw.split(",") if raw != ""]
            else:
                value = values[-1]
                if value in NULL_WORDS and lookup == "exact":
                    value = None
            conditions.append(self.condition(resource, parts, lookup, value))
        return conditions

    def view_conditions(self, resource: Resource, *, listing: bool):
        """The view's own row rule (and its list-only part when listing)."""
        rule = resource.rule
        conds = [self._rule_condition(resource, k, v) for k, v in rule.where]
        conds += [~self._rule_condition(resource, k, v) for k, v in rule.exclude]
        if listing:
            conds += [self._rule_condition(resource, k, v) for k, v in rule.list_where]
        return conds

    def _rule_condition(self, resource: Resource, key: str, value):
        if key == "@recent":
            return self._monitor_recent(resource)
        if isinstance(value, str) and value.startswith("@"):
            kits = self.store.model("kitinfo")
            value_query = kits.select(column(kits, "name")).where(column(kits, "kitType") == value[1:])
            parts, _ = split_lookup(key, allow_private=True)
            return column(self.model(resource), parts[0]).in_(value_query)
        parts, lookup = split_lookup(key, allow_private=True)
        if isinstance(value, tuple):
            value = list(value)
        return self.condition(resource, parts, lookup, value, check=False, allow_private=True)

    def _monitor_recent(self, resource: Resource):
        """Reports of the last 2 days, or of runs of the last 7 days still transferring (monitor view)."""
        from torrentlite.store.fields import stored_datetime, utcnow
        from datetime import timedelta

        now = utcnow()
        model = self.model(resource)
        experiments = self.store.model("experiment")
        busy = experiments.select(column(experiments, "id")).where(
            column(experiments, "ftpStatus").not_in(
                ["Complete", "Completed", "User Aborted", "Missing File(s)", "Lost Chip Connection"])
            & (column(experiments, "date") >= stored_datetime(now - timedelta(days=7))))
        return (column(model, "timeStamp") >= stored_datetime(now - timedelta(days=2))) | \
            column(model, fk_column("experiment")).in_(busy)

    # -- ordering --------------------------------------------------------------------------
    def ordering(self, resource: Resource, keys: Iterable[str], *, check: bool = True):
        """ORDER BY terms for `order_by` values; `check=False` for a view's own default order."""
        model = self.model(resource)
        terms = []
        for key in keys:
            desc = key.startswith("-")
            path = (key[1:] if desc else key).split("__")
            if check and path[0] not in resource.fields:
                raise bad_request(f"No matching '{path[0]}' field for ordering on.")
            if check and path[0] not in resource.ordering:
                raise bad_request(f"The '{path[0]}' field does not allow ordering.")
            expr = self._order_expr(resource.table, path, model)
            col = self.store.registry.tables[resource.table].columns.get(path[0])
            if len(path) == 1 and col is not None and (not col.nullable or col.name == "id"):
                # No NULLs to place: a plain term lets SQLite walk the column's index.
                terms.append(expr.desc() if desc else expr.asc())
            else:
                # PostgreSQL puts NULLs last ascending and first descending; SQLite the reverse.
                terms.append(expr.desc(nulls="FIRST") if desc else expr.asc(nulls="LAST"))
        return terms

    def _order_expr(self, table_name: str, path: list[str], model):
        table = self.store.registry.tables[table_name]
        name = path[0]
        if name in table.columns:
            if len(path) > 1:
                raise bad_request(f"The '{name}' field does not support relations.")
            return _bound(model, name)
        link = table.links.get(name)
        if link is None or link.kind != "fk":
            raise bad_request(f"The '{name}' field does not allow ordering.")
        fk = _bound(model, fk_column(name))
        if len(path) == 1:
            return fk
        target_model = self.store.model(link.table).alias()
        target_pk = _bound(target_model, self.store.registry.tables[link.table].pk)
        inner = self._order_expr(link.table, path[1:], target_model)
        # A scalar subquery; wrapped so it takes ASC/DESC like a column.
        return peewee.NodeList((target_model.select(inner).where(target_pk == fk).limit(1),))


def _bound(model, name: str):
    """The field stored in column `name`, bound to `model` even when it is an alias."""
    field = column(model, name)
    return getattr(model, field.name) if isinstance(model, peewee.ModelAlias) else field


def parse_paging(params: dict[str, list[str]], default_limit: int = DEFAULT_LIMIT,
                 max_limit: Optional[int] = MAX_LIMIT) -> tuple[int, int]:
    """(limit, offset) with tastypie's messages; limit 0 or above the cap means the cap."""
    raw_limit = params.get("limit", [None])[-1]
    raw_offset = params.get("offset", [None])[-1]
    limit = default_limit
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise bad_request(f"Invalid limit '{raw_limit}' provided. Please provide a positive integer.")
        if limit < 0:
            raise bad_request(f"Invalid limit '{raw_limit}' provided. Please provide a positive integer >= 0.")
    if not fits_int64(limit):
        limit = 0  # more rows than SQLite can count: all of them (then the cap, if any)
    if max_limit and (limit == 0 or limit > max_limit):
        limit = max_limit
    offset = 0
    if raw_offset is not None:
        try:
            offset = int(raw_offset)
        except ValueError:
            raise bad_request(f"Invalid offset '{raw_offset}' provided. Please provide an integer.")
        if offset < 0 or not fits_int64(offset):
            raise bad_request(f"Invalid offset '{raw_offset}' provided. Please provide a positive integer >= 0.")
    return limit, offset
