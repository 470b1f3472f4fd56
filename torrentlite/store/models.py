"""Peewee models and the SQLite schema, both generated from the registry."""
from __future__ import annotations

from dataclasses import dataclass

import peewee

from torrentlite.store.fields import FIELD_CLASSES, SQL_TYPES
from torrentlite.store.layout import INDEXES, Link
from torrentlite.store.registry import Registry, Table

_RESERVED = set(dir(peewee.Model))


@dataclass(frozen=True)
class JoinTable:
    """The link table behind a many-to-many field: rows (src_id, dst_id)."""

    name: str
    src_table: str
    dst_table: str


def fk_column(field_name: str) -> str:
    return f"{field_name}_id"


def join_table_name(owner_table: str, field_name: str) -> str:
    return f"{owner_table}_{field_name}"


def join_for(table: str, field_name: str, link: Link) -> JoinTable:
    """The join table of an m2m link seen from `table` (either side)."""
    if link.kind == "m2m":
        return JoinTable(join_table_name(table, field_name), table, link.table)
    return JoinTable(join_table_name(link.table, link.via), link.table, table)


def _fk_target_pk(registry: Registry, table: str) -> str:
    return registry.tables[table].pk


def _on_delete(link: Link, nullable: bool) -> str:
    if link.on_delete:
        return link.on_delete
    return "SET NULL" if nullable else "CASCADE"


def _fk_nullable(registry: Registry, table: Table, name: str) -> bool:
    owner = registry.resources.get(table.owner or "")
    fs = owner.spec.field(name) if owner else None
    return True if fs is None else fs.nullable


def _sql_literal(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def table_ddl(registry: Registry, table: Table) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for one table and its owned join tables."""
    lines = []
    for col in table.columns.values():
        if col.name == table.pk:
            kind = "INTEGER PRIMARY KEY AUTOINCREMENT" if col.kind == "integer" else "TEXT PRIMARY KEY NOT NULL"
            lines.append(f'"{col.name}" {kind}')
            continue
        parts = [f'"{col.name}"', SQL_TYPES[col.kind]]
        if not col.nullable:
            parts.append("NOT NULL")
        if col.auto_now:
            parts.append("DEFAULT (strftime('%Y-%m-%d %H:%M:%f000', 'now'))")
        elif col.default is not None:
            parts.append(f"DEFAULT {_sql_literal(col.default)}")
        if col.unique:
            parts.append("UNIQUE")
        lines.append(" ".join(parts))
    indexes = []
    for name, link in table.links.items():
        if link.kind != "fk":
            continue
        nullable = _fk_nullable(registry, table, name)
        target = registry.tables[link.table]
        ref_type = "INTEGER" if target.pk == "id" else "TEXT"
        lines.append(f'"{fk_column(name)}" {ref_type}{"" if nullable else " NOT NULL"} '
                     f'REFERENCES "{link.table}"("{target.pk}") ON DELETE {_on_delete(link, nullable)}')
        indexes.append(fk_column(name))
    stmts = [f'CREATE TABLE IF NOT EXISTS "{table.name}" ({", ".join(lines)})']
    indexes += [c for c in INDEXES.get(table.name, ()) if c in table.columns]
    for col in indexes:
        stmts.append(f'CREATE INDEX IF NOT EXISTS "ix_{table.name}_{col}" ON "{table.name}" ("{col}")')
    for name, link in table.links.items():
        if link.kind == "m2m":
            jt = join_for(table.name, name, link)
            stmts.append(
                f'CREATE TABLE IF NOT EXISTS "{jt.name}" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, '
                f'"src_id" INTEGER NOT NULL REFERENCES "{jt.src_table}"("id") ON DELETE CASCADE, '
                f'"dst_id" INTEGER NOT NULL REFERENCES "{jt.dst_table}"("id") ON DELETE CASCADE, '
                f'UNIQUE ("src_id", "dst_id"))')
            stmts.append(f'CREATE INDEX IF NOT EXISTS "ix_{jt.name}_dst" ON "{jt.name}" ("dst_id")')
    return stmts


def schema_ddl(registry: Registry) -> list[str]:
    stmts = []
    for table in registry.tables.values():
        stmts.extend(table_ddl(registry, table))
    return stmts


def _attr(name: str) -> str:
    return f"{name}_" if name in _RESERVED or name.startswith("_") else name


def build_models(registry: Registry, database: peewee.Database) -> dict[str, type]:
    """One peewee model per table and per join table, keyed by table name.

    Fields are reached by column name through `Model._meta.columns`; attribute names only
    differ where a column name would shadow a peewee Model attribute.
    """
    models: dict[str, type] = {}
    for table in registry.tables.values():
        attrs = {}
        for col in table.columns.values():
            cls = FIELD_CLASSES[col.kind]
            kwargs = {"column_name": col.name, "null": col.nullable}
            if col.name == table.pk:
                kwargs["primary_key"] = True
            attrs[_attr(col.name)] = cls(**kwargs)
        for name, link in table.links.items():
            if link.kind == "fk":
                attrs[_attr(fk_column(name))] = peewee.IntegerField(column_name=fk_column(name), null=True)
        attrs["Meta"] = type("Meta", (), {"database": database, "table_name": table.name})
        models[table.name] = type(f"T_{table.name}", (peewee.Model,), attrs)
        for name, link in table.links.items():
            if link.kind == "m2m":
                jt = join_for(table.name, name, link)
                models[jt.name] = type(f"J_{jt.name}", (peewee.Model,), {
                    "src_id": peewee.IntegerField(), "dst_id": peewee.IntegerField(),
                    "Meta": type("Meta", (), {"database": database, "table_name": jt.name}),
                })
    return models


def column(model, name: str) -> peewee.Field:
    """The field of `model` stored in column `name`."""
    return model._meta.columns[name]
