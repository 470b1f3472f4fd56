"""Every documented resource is served: list, schema and a detail, with the documented fields."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Client, _copy_data_dir, admin_headers, make_settings
from spec_rows import insert_example
from torrentlite.app import build_app
from torrentlite.store import layout
from torrentlite.store.spec import NO_DEFAULT, load_specs

SPEC_FILE = Path(__file__).resolve().parent.parent / "torrentlite" / "data" / "rundb_v1_resources.json"
RAW = {r["name"]: r for r in json.loads(SPEC_FILE.read_text("utf-8"))["resources"]}
NAMES = sorted(RAW)
TABLELESS = set(layout.TABLELESS)
DETAIL_ONLY = {"results": {"pluginState", "pluginStore"}}
# The two chef views answer a fixed dict without resource_uri (behaviour notes §8 item 16).
NO_URI = {"availableionchefplannedexperiment", "availableionchefplannedexperimentsummary"}


def test_the_spec_has_87_resources():
    assert len(RAW) == 87 == len(load_specs())


@pytest.fixture(scope="module")
def full_app(demo_template, tmp_path_factory):
    """The demo plus one row in every resource that the demo leaves empty."""
    data_dir = _copy_data_dir(demo_template, tmp_path_factory.mktemp("coverage") / "data")
    app = build_app(make_settings(data_dir))
    client = Client(app, admin_headers(app))
    for name in NAMES:
        if name in TABLELESS:
            continue
        if client.get(f"/rundb/api/v1/{name}/").json()["meta"]["total_count"] == 0:
            insert_example(app.store, name)
    yield app
    app.close()


@pytest.fixture(scope="module")
def full(full_app):
    return Client(full_app, admin_headers(full_app))


def expected_default(raw_field: dict):
    value, kind = raw_field["default"], raw_field["type"]
    if value == "n/a":
        return NO_DEFAULT
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    if kind == "datetime" and value:
        return True
    if kind in ("integer", "float") and value not in ("",):
        return float(value)
    return value


@pytest.mark.parametrize("name", NAMES)
def test_list_is_served_with_the_documented_fields(full, full_app, name):
    response = full.get(f"/rundb/api/v1/{name}/")
    assert response.status == 200, response.body[:300]
    body = response.json()
    if name in TABLELESS:
        return
    assert body["objects"], f"{name}: no rows to check"
    allowed = {f["name"] for f in RAW[name]["fields"]} | set(layout.EXTRA_KEYS.get(name, ()))
    expected = allowed - DETAIL_ONLY.get(name, set()) - ({"resource_uri"} if name in NO_URI else set())
    for obj in body["objects"]:
        assert set(obj) == expected, (name, sorted(set(obj) ^ expected))


@pytest.mark.parametrize("name", NAMES)
def test_schema_matches_the_spec_field_by_field(full, name):
    response = full.get(f"/rundb/api/v1/{name}/schema/")
    assert response.status == 200
    schema = response.json()
    fields = schema["fields"]
    assert set(fields) == {f["name"] for f in RAW[name]["fields"]}
    for raw in RAW[name]["fields"]:
        got = fields[raw["name"]]
        where = f"{name}.{raw['name']}"
        for key in ("type", "nullable", "readonly", "blank", "unique"):
            assert got[key] == raw[key], (where, key, got[key], raw[key])
        assert got["help_text"] == raw["help"], where
        want = expected_default(raw)
        if isinstance(want, float):
            assert isinstance(got["default"], (int, float)) and not isinstance(got["default"], bool), where
            assert got["default"] == want, where
        else:
            assert got["default"] == want, (where, got["default"], want)
        if raw["type"] == "related":
            assert got["related_type"] in ("to_one", "to_many"), where
    assert schema["default_format"] == "application/json"
    assert schema["default_limit"] in (0, 20)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in TABLELESS])
def test_detail_of_a_row_is_served(full, full_app, name):
    listing = full.get(f"/rundb/api/v1/{name}/", params={"limit": 1}).json()
    obj = listing["objects"][0]
    resource = full_app.store.registry[name]
    if "resource_uri" in obj:
        uri = obj["resource_uri"]
    else:  # the two chef views carry no resource_uri; their detail is keyed by id
        uri = f"/rundb/api/v1/{name}/{obj['id']}/"
    path = uri.replace("/rundb/api/mesh/v1/", "/rundb/api/v1/")
    response = full.get(path)
    assert response.status == 200, (path, response.body[:300])
    detail = response.json()
    assert detail[resource.detail_key] == obj[resource.detail_key]
    assert set(obj) - set(detail) == set()
    assert set(detail) - set(obj) <= DETAIL_ONLY.get(name, set())


def test_index_lists_every_resource_without_auth(anonymous):
    response = anonymous.get("/rundb/api/v1/")
    assert response.status == 200
    index = response.json()
    for name in NAMES:
        entry = index[name]
        assert set(entry) == {"list_endpoint", "schema"}
        assert entry["list_endpoint"] == f"/rundb/api/v1/{name}/"
        assert entry["schema"] == f"/rundb/api/v1/{name}/schema/"
    assert list(index) == sorted(index)
    assert next(iter(index)) == "PluginResultJob"
