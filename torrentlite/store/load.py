"""Insert rows given in the spec's vocabulary (field names, related pks, m2m lists) into the store."""
from __future__ import annotations

from typing import Iterable

from torrentlite.store.db import Store
from torrentlite.store.models import fk_column, join_for


class LoadError(ValueError):
    """A row names a field its table does not have."""


def split_row(store: Store, table: str, row: dict) -> tuple[dict, dict[str, list]]:
    """(column values, m2m lists) for one row given with spec field names."""
    t = store.registry.tables[table]
    values, many = {}, {}
    for name, value in row.items():
        link = t.links.get(name)
        if link is not None:
            if link.kind == "fk":
                values[fk_column(name)] = value
            elif link.kind == "m2m":
                many[name] = list(value or [])
            else:
                raise LoadError(f"{table}.{name} is set from the other side of the relation")
        elif name in t.columns:
            values[name] = value
        elif name.endswith("_id") and name[:-3] in t.links:
            values[name] = value
        else:
            raise LoadError(f"{table} has no field {name!r}")
    return values, many


def insert_row(store: Store, table: str, row: dict) -> object:
    """Insert one row (inside the caller's transaction); returns its primary key."""
    model = store.model(table)
    values, many = split_row(store, table, row)
    fields = {model._meta.columns[c]: v for c, v in values.items()}
    pk = model.insert(fields).execute()
    pk_name = store.registry.tables[table].pk
    key = values.get(pk_name, pk)
    for name, targets in many.items():
        set_links(store, table, name, key, targets)
    return key


def set_links(store: Store, table: str, name: str, key, targets: Iterable) -> None:
    """Replace the members of m2m field `name` of row `key`."""
    link = store.registry.tables[table].links[name]
    jt = join_for(table, name, link)
    join = store.model(jt.name)
    mine, theirs = ("src_id", "dst_id") if link.kind == "m2m" else ("dst_id", "src_id")
    join.delete().where(getattr(join, mine) == key).execute()
    rows = [{mine: key, theirs: t} for t in dict.fromkeys(targets)]
    if rows:
        join.insert_many(rows).execute()


def load_rows(store: Store, rows: Iterable[tuple[str, dict]]) -> int:
    """Insert every (table, row) pair in one transaction; returns how many rows were written."""
    count = 0
    with store.write():
        for table, row in rows:
            insert_row(store, table, row)
            count += 1
    return count
