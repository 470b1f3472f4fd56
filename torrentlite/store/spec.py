"""The SDK's resource reference pages, loaded as ResourceSpec/FieldSpec data."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Optional

NO_DEFAULT = "No default provided."

HTTP_METHODS = ("get", "post", "put", "delete", "patch")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a resource page: its schema entry exactly as documented."""

    name: str
    type: str
    help: str
    default: Any
    nullable: bool
    readonly: bool
    blank: bool
    unique: bool
    related_to: Optional[str] = None
    to_many: bool = False

    @property
    def is_related(self) -> bool:
        return self.type == "related"

    def schema_default(self) -> Any:
        """The `default` value the schema document shows ("n/a" on the page means no default)."""
        if self.default == "n/a":
            return NO_DEFAULT
        if self.type == "boolean" and self.default in ("true", "false"):
            return self.default == "true"
        if self.type == "datetime" and self.default not in ("", "n/a"):
            return True  # auto_now fields render as true; the page shows the time it was rendered
        if self.type == "integer" and _is_int(self.default):
            return int(self.default)
        if self.type == "float" and _is_number(self.default):
            return float(self.default)
        return self.default


@dataclass(frozen=True)
class ResourceSpec:
    """One resource page: name, title, fields, allowed methods and the published example."""

    name: str
    title: str
    fields: tuple[FieldSpec, ...]
    list_methods: tuple[str, ...]
    detail_methods: tuple[str, ...]
    example: dict = field(default_factory=dict, compare=False, hash=False)

    def field(self, name: str) -> Optional[FieldSpec]:
        return self.field_map.get(name)

    @property
    def field_map(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    @property
    def example_object(self) -> Optional[dict]:
        objects = self.example.get("objects") if isinstance(self.example, dict) else None
        return objects[0] if objects else None


def _is_int(text: Any) -> bool:
    try:
        int(text)
        return True
    except (TypeError, ValueError):
        return False


def _is_number(text: Any) -> bool:
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


def _methods(allowed: dict, key: str) -> tuple[str, ...]:
    methods = allowed.get(key, allowed.get("all", []))
    return tuple(m for m in HTTP_METHODS if m in methods)


@lru_cache(maxsize=1)
def load_specs() -> dict[str, ResourceSpec]:
    """Every documented resource, keyed by its (case-sensitive) name."""
    text = resources.files("torrentlite").joinpath("data/rundb_v1_resources.json").read_text("utf-8")
    specs = {}
    for raw in json.loads(text)["resources"]:
        fields = tuple(
            FieldSpec(
                name=f["name"], type=f["type"], help=f["help"], default=f["default"],
                nullable=f["nullable"], readonly=f["readonly"], blank=f["blank"], unique=f["unique"],
                related_to=f.get("related_to"), to_many=bool(f.get("to_many")),
            )
            for f in raw["fields"]
        )
        allowed = raw.get("allowed_methods") or {}
        specs[raw["name"]] = ResourceSpec(
            name=raw["name"], title=raw["title"], fields=fields,
            list_methods=_methods(allowed, "list"), detail_methods=_methods(allowed, "detail"),
            example=raw.get("example") or {},
        )
    return specs
