"""Each resource's published example object, stored and read back, keeps its keys and JSON value types."""
from __future__ import annotations

import pytest

from conftest import Client, admin_headers, make_settings
from spec_rows import insert_example
from torrentlite.app import build_app
from torrentlite.setup_data import initialize
from torrentlite.store import layout
from torrentlite.store.spec import load_specs

SPECS = load_specs()
WITH_EXAMPLES = sorted(n for n, s in SPECS.items() if s.example_object and n not in layout.TABLELESS)
# Keys the API shows only in detail, or only in lists (§3.6), and keys the chef views leave out (§8 item 16).
DETAIL_ONLY = {"results": {"pluginState", "pluginStore"}}


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A store with reference data only: the examples are the only runs in it."""
    settings = make_settings(tmp_path_factory.mktemp("roundtrip") / "data")
    app = build_app(settings)
    initialize(settings, app.store)
    yield app
    app.close()


@pytest.fixture(scope="module")
def fresh_client(fresh):
    return Client(fresh, admin_headers(fresh))


def test_most_resources_have_an_example():
    assert len(WITH_EXAMPLES) >= 60


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_example_reads_back_with_same_keys_and_types(fresh, fresh_client, name):
    example = SPECS[name].example_object
    key = insert_example(fresh.store, name, dict(example))
    if name == "publisher":
        key = fresh.store.db.execute_sql('SELECT name FROM "publisher" WHERE id = ?', (key,)).fetchone()[0]
    prefix = "/rundb/api/v1/"
    response = fresh_client.get(f"{prefix}{name}/{key}/")
    assert response.status == 200, (name, key, response.body[:300])
    got = response.json()
    # Every example key comes back; beyond them only documented fields (the 5.4 examples predate a
    # few) and the documented extra keys of layout.EXTRA_KEYS may appear.
    missing = set(example) - set(got)
    assert not missing, (name, sorted(missing))
    allowed = set(example) | DETAIL_ONLY.get(name, set()) | {f.name for f in SPECS[name].fields} \
        | set(layout.EXTRA_KEYS.get(name, ()))
    assert set(got) <= allowed, (name, sorted(set(got) - allowed))
    computed = set(layout.COMPUTED.get(name, ())) | set(layout.EXTRA_KEYS.get(name, ()))
    mismatches = []
    for field, value in example.items():
        if field in ("id", "resource_uri") or field in computed:
            continue
        if value is None or got[field] is None:
            continue
        if _kind(value) != _kind(got[field]):
            mismatches.append((field, value, got[field]))
    assert not mismatches, (name, mismatches)


def test_json_fields_come_back_as_objects(fresh, fresh_client):
    example = dict(SPECS["results"].example_object)
    example["metaData"] = {"thumb": 1, "nested": {"a": [1, 2]}}
    key = insert_example(fresh.store, "results", example)
    got = fresh_client.get(f"/rundb/api/v1/results/{key}/").json()
    assert got["metaData"]["nested"] == {"a": [1, 2]}
    assert isinstance(got["pluginState"], dict) and isinstance(got["pluginStore"], dict)
