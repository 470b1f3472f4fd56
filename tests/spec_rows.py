"""Build store rows from the spec's published example objects (or from field types when a page has none).

Related fields are pointed at rows that exist (creating one from the related resource's example
when the table is empty), unique values are made unique, and the view's own row rule is applied so
the row shows up in the view it was built for.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

from torrentlite.store.load import insert_row
from torrentlite.store.models import column

_counter = itertools.count(1)

_TYPE_SAMPLES = {"string": "x", "integer": 1, "float": 1.5, "boolean": False, "list": [], "dict": {}}


def _now():
    return datetime.now(timezone.utc)


def existing_key(store, table: str):
    t = store.registry.tables[table]
    row = store.db.execute_sql(f'SELECT "{t.pk}" FROM "{table}" ORDER BY "{t.pk}" LIMIT 1').fetchone()
    return row[0] if row else None


def ensure_row(store, table: str):
    """The key of some row of `table`, inserting one built from its owner's example if it is empty."""
    key = existing_key(store, table)
    if key is not None:
        return key
    owner = store.registry.tables[table].owner
    if owner is None:
        return _insert_bare(store, table)
    return insert_example(store, owner)


def _insert_bare(store, table: str):
    t = store.registry.tables[table]
    row = {}
    for name, col in t.columns.items():
        if name == t.pk and col.kind == "integer":
            continue
        if not col.nullable and col.default is None:
            row[name] = _column_sample(col.kind)
    for name, link in t.links.items():
        if link.kind == "fk":
            row[name] = ensure_row(store, link.table)
    return insert_row(store, table, row)


def _column_sample(kind: str):
    return {"string": "x", "integer": 1, "bigint": 1, "float": 1.5, "boolean": False, "datetime": _now(),
            "json": {}}[kind]


def example_object(store, resource_name: str) -> dict:
    spec = store.registry[resource_name].spec
    if spec.example_object:
        return dict(spec.example_object)
    return {fs.name: _TYPE_SAMPLES.get(fs.type) for fs in spec.fields if fs.type not in ("related", "datetime")}


def build_row(store, resource_name: str, obj: dict | None = None) -> tuple[str, dict]:
    """(table, row in spec vocabulary) for one object of `resource_name`."""
    registry = store.registry
    resource = registry[resource_name]
    table = registry.tables[resource.table]
    obj = example_object(store, resource_name) if obj is None else obj
    row: dict = {}
    for name, value in obj.items():
        fd = resource.fields.get(name)
        if fd is None or fd.source in ("uri", "computed"):
            continue
        if fd.source == "relation":
            link = fd.link
            if link.kind == "fk":
                nullable = fd.spec.nullable
                if value is None and nullable:
                    row[name] = None
                else:
                    row[name] = ensure_row(store, link.table)
            elif link.kind == "m2m":
                row[name] = [ensure_row(store, link.table)] if value else []
            continue
        col = table.columns[name]
        if name == table.pk and col.kind == "integer":
            continue
        row[name] = _adapt(col, value)
    # Columns that cannot be NULL and have no default need a value even when the example lacks them.
    for name, col in table.columns.items():
        if name == table.pk and col.kind == "integer":
            continue
        if name not in row and not col.nullable and col.default is None:
            row[name] = _column_sample(col.kind)
        if col.unique and row.get(name) is not None and col.kind == "string":
            row[name] = f"{row[name]}_{next(_counter)}"
        elif col.unique and name != table.pk and row.get(name) is not None and col.kind == "integer":
            row[name] = 100000 + next(_counter)
    if table.pk != "id":
        row[table.pk] = f"{row.get(table.pk) or 'row'}_{next(_counter)}"
    for name, link in table.links.items():
        owner = registry.resources.get(table.owner or "")
        if link.kind == "fk" and name not in row and (owner is None or not _fk_nullable(owner, name)):
            row[name] = ensure_row(store, link.table)
    _apply_rule(store, resource, row)
    return resource.table, row


def _fk_nullable(resource, name) -> bool:
    fs = resource.spec.field(name)
    return True if fs is None else fs.nullable


def _adapt(col, value):
    if value is None:
        return None if col.nullable else _column_sample(col.kind)
    if col.kind == "bigint":
        return int(value)
    if col.kind == "json":
        return value if isinstance(value, (dict, list)) else {}
    if col.kind == "datetime":
        return value if value else _now()
    if col.kind == "boolean":
        return bool(value)
    if col.kind == "integer" and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return 1
    return value


def _kit_named(store, kit_type: str) -> str:
    kits = store.model("kitinfo")
    found = kits.select(column(kits, "name")).where(column(kits, "kitType") == kit_type).limit(1).tuples()
    for (name,) in found:
        return name
    _, row = build_row(store, "kitinfo")
    row.update(kitType=kit_type, name=f"{kit_type}_kit_{next(_counter)}")
    insert_row(store, "kitinfo", row)
    return row["name"]


def _kit_id(store, kit_type: str) -> int:
    name = _kit_named(store, kit_type)
    kits = store.model("kitinfo")
    return kits.select(column(kits, "id")).where(column(kits, "name") == name).scalar()


def _point_fk_where(store, resource, row: dict, fk_name: str, col: str, unwanted) -> None:
    """Point fk `fk_name` at a row whose `col` is not `unwanted` (keeping the current one if it fits)."""
    target = store.registry.tables[resource.table].links[fk_name].table
    pk = store.registry.tables[target].pk
    current = row.get(fk_name)
    sql = f'SELECT "{pk}" FROM "{target}" WHERE "{col}" != ? AND "{col}" IS NOT NULL'
    keys = [r[0] for r in store.db.execute_sql(sql, (unwanted,))]
    if not keys:
        owner = store.registry.tables[target].owner
        _, other = build_row(store, owner)
        other[col] = "/results/demo" if unwanted == "" else f"not-{unwanted}"
        keys = [insert_row(store, target, other)]
    row[fk_name] = current if current in keys else keys[0]


def _apply_rule(store, resource, row: dict) -> None:
    """Make the row satisfy the view's own where/list_where rules."""
    rule = resource.rule
    for key, value in tuple(rule.where) + tuple(rule.list_where):
        parts = key.split("__")
        if key == "@recent":
            row["timeStamp"] = _now()
            continue
        if parts[-1] == "ne":
            if len(parts) == 2 and row.get(parts[0]) == value:
                row[parts[0]] = "x"
            elif len(parts) == 3:
                _point_fk_where(store, resource, row, parts[0], parts[1], value)
            continue
        if isinstance(value, str) and value.startswith("@"):
            row[parts[0]] = _kit_named(store, value[1:])
            continue
        if parts[:2] == ["kit", "kitType"]:
            row["kit"] = _kit_id(store, value)
            continue
        if len(parts) == 1:
            row[parts[0]] = value
        elif parts[-1] == "in":
            row[parts[0]] = value[0]
        elif parts[-1] == "icontains":
            row[parts[0]] = value
    for key, value in rule.exclude:
        parts = key.split("__")
        if len(parts) == 1 and row.get(key) == value:
            row[key] = "x"
        elif len(parts) == 2:
            _point_fk_where(store, resource, row, parts[0], parts[1], value)


def insert_example(store, resource_name: str, obj: dict | None = None):
    """Insert one row for `resource_name` (in a write transaction); returns its key."""
    with store.write():
        table, row = build_row(store, resource_name, obj)
        return insert_row(store, table, row)
