"""The resource registry: every resource's fields resolved to columns, relations or computed values."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from torrentlite.store import layout
from torrentlite.store.layout import Link, ViewRule
from torrentlite.store.spec import FieldSpec, ResourceSpec, load_specs

# Text columns that hold a JSON object (the API shows them as objects, never null).
JSON_COLUMNS = {
    "results": ("metaData",), "experiment": ("metaData", "log"),
    "plugin": ("config", "status", "pluginsettings", "userinputfields"),
    "pluginresult": ("store",), "PluginResultJob": ("config",),
    "experimentanalysissettings": ("barcodedSamples", "selectedPlugins"),
    "rig": ("version", "alarms", "updateCommand"), "runtype": ("meta",), "publisher": ("global_meta",),
    "content": ("meta",), "contentupload": ("meta",), "monitordata": ("treeDat",),
    "plannedexperiment": ("metaData",),
}

# Django BigIntegerFields: stored as integers, shown as strings (tastypie 0.11 does that).
BIGINT_COLUMNS = {
    "libmetrics": ("total_mapped_target_bases", "genomesize", "q7_mapped_bases", "q10_mapped_bases",
                   "q17_mapped_bases", "q20_mapped_bases", "q47_mapped_bases", "total_mapped_reads"),
    "qualitymetrics": ("q0_bases", "q17_bases", "q20_bases"),
    "pluginresult": ("size", "inodes"),
    "filemonitor": ("size", "progress"),
}


@dataclass(frozen=True)
class Column:
    """A stored column: `kind` is string/integer/float/boolean/datetime/json/bigint."""

    name: str
    kind: str
    nullable: bool = True
    default: object = None
    unique: bool = False
    auto_now: bool = False


@dataclass
class Table:
    name: str
    owner: Optional[str]
    columns: dict[str, Column] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    pk: str = "id"


@dataclass(frozen=True)
class FieldDef:
    """One field of a resource: its documented spec plus where its value comes from."""

    spec: FieldSpec
    source: str  # "column" | "relation" | "computed" | "uri"
    link: Optional[Link] = None
    nested: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def target(self) -> Optional[str]:
        return self.spec.related_to


@dataclass
class Resource:
    name: str
    spec: ResourceSpec
    table: Optional[str]
    fields: dict[str, FieldDef]
    rule: ViewRule
    filtering: dict[str, object]
    ordering: tuple[str, ...]
    extra_keys: tuple[str, ...] = ()
    detail_key: str = "id"

    @property
    def list_methods(self) -> tuple[str, ...]:
        return self.spec.list_methods

    @property
    def detail_methods(self) -> tuple[str, ...]:
        return self.spec.detail_methods

    def relation(self, name: str) -> Optional[FieldDef]:
        fd = self.fields.get(name)
        return fd if fd is not None and fd.link is not None else None


def _column_kind(table: str, fs: FieldSpec) -> str:
    if fs.name in JSON_COLUMNS.get(table, ()):
        return "json"
    if fs.name in BIGINT_COLUMNS.get(table, ()):
        return "bigint"
    return {"string": "string", "integer": "integer", "float": "float", "boolean": "boolean",
            "datetime": "datetime"}.get(fs.type, "string")


def _column_default(kind: str, fs: FieldSpec):
    raw = fs.default
    if raw in ("n/a", None) or (raw == "" and kind not in ("string",)):
        return None
    if kind == "json":
        return None
    if kind == "boolean":
        return raw == "true" if raw in ("true", "false") else None
    if kind in ("integer", "bigint"):
        try:
            return int(raw)
        except ValueError:
            return None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            return None
    if kind == "datetime":
        return None
    if raw == "None":
        return None
    return raw


def _table_of(resource: str) -> Optional[str]:
    if resource in layout.TABLELESS:
        return None
    for table, (owner, views) in layout.SHARED_TABLES.items():
        if resource == owner or resource in views:
            return table
    return resource


def _build_tables(specs: dict[str, ResourceSpec]) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    owners = {table: owner for table, (owner, _) in layout.SHARED_TABLES.items()}
    for name in specs:
        table = _table_of(name)
        if table is not None and table not in owners:
            owners[table] = name
    for name in layout.UNDOCUMENTED_TABLES:
        owners[name] = None
    for table, owner in owners.items():
        t = Table(name=table, owner=owner, pk=layout.PRIMARY_KEYS.get(table, "id"))
        t.links = dict(layout.RELATIONS.get(table, {}))
        computed = set(layout.COMPUTED.get(owner or "", ()))
        if owner:
            for fs in specs[owner].fields:
                if fs.name in ("resource_uri",) or fs.name in computed or fs.name in t.links or fs.is_related:
                    continue
                kind = _column_kind(table, fs)
                t.columns[fs.name] = Column(
                    name=fs.name, kind=kind, nullable=fs.nullable or kind == "json",
                    default=_column_default(kind, fs), unique=fs.unique and fs.name != "id",
                    auto_now=fs.type == "datetime" and fs.default not in ("n/a", ""),
                )
        if t.pk == "id" and "id" not in t.columns:
            t.columns["id"] = Column("id", "integer", nullable=False)
        for col, kind in layout.HIDDEN_COLUMNS.get(table, {}).items():
            t.columns.setdefault(col, Column(col, kind, nullable=True))
        tables[table] = t
    return tables


def _resolve_field(resource: str, table: Table, fs: FieldSpec) -> FieldDef:
    nested = fs.name in layout.NESTED.get(resource, ())
    if fs.name == "resource_uri":
        return FieldDef(fs, "uri")
    link = layout.VIEW_RELATIONS.get(resource, {}).get(fs.name) or table.links.get(fs.name)
    if fs.name in layout.COMPUTED.get(resource, ()):
        return FieldDef(fs, "computed", link=link, nested=nested)
    if link is not None:
        return FieldDef(fs, "relation", link=link, nested=nested)
    if fs.name in table.columns:
        return FieldDef(fs, "column")
    raise LookupError(f"{resource}.{fs.name} is neither a column of {table.name}, a relation nor computed")


def _filtering(resource: str, fields: dict[str, FieldDef]) -> dict[str, object]:
    if resource in layout.FILTERING_OVERRIDES:
        return dict(layout.FILTERING_OVERRIDES[resource] or {})
    return {n: 2 for n, fd in fields.items() if fd.source in ("column", "relation")}


@dataclass
class Registry:
    """All resources and tables; built once from the spec and the layout."""

    resources: dict[str, Resource]
    tables: dict[str, Table]

    def __getitem__(self, name: str) -> Resource:
        return self.resources[name]

    def get(self, name: str) -> Optional[Resource]:
        return self.resources.get(name)


@lru_cache(maxsize=1)
def load_registry() -> Registry:
    specs = load_specs()
    tables = _build_tables(specs)
    resources = {}
    for name, spec in specs.items():
        table_name = _table_of(name)
        if table_name is None:
            fields = {fs.name: FieldDef(fs, "computed") for fs in spec.fields}
            resources[name] = Resource(name, spec, None, fields, layout.ViewRule(), {}, ())
            continue
        table = tables[table_name]
        fields = {fs.name: _resolve_field(name, table, fs) for fs in spec.fields}
        ordering = layout.ORDERING_OVERRIDES.get(
            name, tuple(n for n, fd in fields.items() if fd.source in ("column", "relation")))
        resources[name] = Resource(
            name=name, spec=spec, table=table_name, fields=fields,
            rule=layout.VIEW_RULES.get(name, layout.ViewRule()),
            filtering=_filtering(name, fields), ordering=ordering,
            extra_keys=layout.EXTRA_KEYS.get(name, ()),
            detail_key=layout.DETAIL_KEYS.get(name, table.pk),
        )
    return Registry(resources, tables)
