"""The OpenAPI document: served without credentials, valid OpenAPI 3.1, and true to the write side.

The property test sends generated bodies to the write endpoints of a sample of resources: the
server never answers 5xx, and a rejected request leaves the database exactly as it was.
"""
from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import Client, admin_headers
from torrentlite.api.openapi import build_document
from torrentlite.store.registry import Registry, load_registry

API = "/rundb/api/v1/"
SAMPLE = ("project", "results", "kitinfo", "activesequencingkitinfo", "plannedexperiment", "plannedexperimentdb",
          "pluginresult", "rig", "publisher", "PluginResultJob", "sample", "globalconfig", "location")


def test_document_is_served_without_credentials_and_covers_every_resource(anonymous):
    r = anonymous.get(API + "openapi.json")
    assert r.status == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["components"]["securitySchemes"]) == {"ApiKey", "Basic", "PluginKey"}
    registry = load_registry()
    for name, resource in registry.resources.items():
        if resource.table is None:
            continue
        assert f"{API}{name}/schema/" in doc["paths"]
        if resource.list_methods:
            assert set(doc["paths"][f"{API}{name}/"]) == set(resource.list_methods)


def test_document_validates_with_openapi_spec_validator():
    validator = pytest.importorskip("openapi_spec_validator")
    full = load_registry()
    # The validator needs about a minute for all 87 resources; a sample with every kind of resource
    # (views, string keys, mixed-case names, nested relations) exercises every generator path.
    sample = Registry({n: full.resources[n] for n in SAMPLE}, full.tables)
    validator.validate(build_document(sample))


def table_digest(app) -> str:
    db = app.store.db
    digest = hashlib.sha256()
    for (name,) in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
        for row in db.execute_sql(f'SELECT * FROM "{name}" ORDER BY 1').fetchall():
            digest.update(repr(row).encode())
    return digest.hexdigest()


scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["", "false", "2020-01-01T00:00:00", "/rundb/api/v1/user/1/",
                                                           "/rundb/api/v1/results/999/", "{}", "{bad"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=6)


def body_for(resource_name: str):
    fields = sorted(load_registry()[resource_name].fields)
    return st.dictionaries(st.sampled_from(fields + ["id", "bogus"]), values, max_size=6)


@pytest.mark.parametrize("name", ["project", "kitinfo", "results", "plannedexperiment", "rig"])
def test_generated_write_bodies_never_5xx_and_rejections_change_nothing(app, name):
    client = Client(app, admin_headers(app))
    first = client.get(API + f"{name}/", params={"limit": 1}).json()["objects"][0]["resource_uri"]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(method=st.sampled_from(["POST", "PUT", "PATCH", "PATCH_LIST"]), body=body_for(name))
    def check(method, body):
        before = table_digest(app)
        if method == "POST":
            r = client.post(API + f"{name}/", json_body=body)
        elif method == "PATCH_LIST":
            r = client.patch(API + f"{name}/", json_body={"objects": [body, {**body, "resource_uri": first}]})
        else:
            r = client.request(method, first, json_body=body)
        assert r.status < 500, (method, body, r.status, r.body)
        if r.status >= 400:
            assert table_digest(app) == before, (method, json.dumps(body), r.body)

    check()
