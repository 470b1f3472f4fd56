"""A list page costs a bounded number of SQL statements, whatever its size."""
from __future__ import annotations

import pytest

from conftest import Client, _copy_data_dir, admin_headers, make_settings
from spec_rows import build_row, insert_example
from torrentlite.api import page_cache
from torrentlite.app import build_app
from torrentlite.store.load import insert_row

API = "/rundb/api/v1/"
ROWS = 120


@pytest.fixture(scope="module")
def busy_app(demo_template, tmp_path_factory):
    data_dir = _copy_data_dir(demo_template, tmp_path_factory.mktemp("qcount") / "data")
    app = build_app(make_settings(data_dir))
    store = app.store
    plugin_id = insert_example(store, "plugin")
    with store.write():
        for table, resource in (("experiment", "experiment"), ("plannedexperiment", "plannedexperiment"),
                                ("kitinfo", "kitinfo")):
            for _ in range(ROWS):
                _, row = build_row(store, resource)
                insert_row(store, table, row)
        experiments = [r[0] for r in store.db.execute_sql('SELECT id FROM "experiment"')]
        results = []
        for i in range(ROWS):
            _, row = build_row(store, "results")
            row["experiment"] = experiments[i % len(experiments)]
            results.append(insert_row(store, "results", row))
            for metric in ("libmetrics", "tfmetrics", "analysismetrics", "qualitymetrics"):
                _, m = build_row(store, metric)
                m["report"] = results[-1]
                insert_row(store, metric, m)
        for i in range(ROWS):
            _, row = build_row(store, "pluginresult")
            row.update(result=results[i], plugin=plugin_id, apikey=None)
            pr = insert_row(store, "pluginresult", row)
            for _ in range(2):
                _, job = build_row(store, "PluginResultJob")
                job["plugin_result"] = pr
                insert_row(store, "PluginResultJob", job)
    yield app
    app.close()


@pytest.fixture(autouse=True)
def no_page_reuse(monkeypatch):
    """These tests count what building a page costs; a reused page would cost nothing."""
    monkeypatch.setattr(page_cache, "CACHED", frozenset())


def _statements(app, client, path, limit) -> int:
    db = app.store.db
    before = db.queries_executed
    response = client.get(path, params={"limit": limit})
    assert response.status == 200, response.body[:300]
    assert len(response.json()["objects"]) == min(limit, response.json()["meta"]["total_count"])
    return db.queries_executed - before


@pytest.mark.parametrize("resource", ["results", "experiment", "plannedexperiment", "pluginresult", "kitinfo",
                                      "compositeexperiment", "monitorresult", "compositeresult"])
def test_list_statement_count_does_not_grow_with_page_size(busy_app, resource):
    client = Client(busy_app, admin_headers(busy_app))
    path = f"{API}{resource}/"
    _statements(busy_app, client, path, 5)  # warm caches of the first call
    small = _statements(busy_app, client, path, 5)
    large = _statements(busy_app, client, path, 100)
    assert small == large, (resource, small, large)
    assert large < 60, (resource, large)
