"""The SQLite file: pragmas, indexes, schema version, idempotent init, newer versions refused, both drivers."""
from __future__ import annotations

import pytest

from conftest import make_settings
from torrentlite.app import build_app
from torrentlite.setup_data import initialize
from torrentlite.store import layout
from torrentlite.store.db import SCHEMA_VERSION, Store, StoreError
from torrentlite.store.users import Users


def _pragma(store, name):
    return store.db.execute_sql(f"PRAGMA {name}").fetchone()[0]


def _indexed_columns(store, table) -> set[str]:
    cols = set()
    for row in store.db.execute_sql(f'PRAGMA index_list("{table}")').fetchall():
        for info in store.db.execute_sql(f'PRAGMA index_info("{row[1]}")').fetchall():
            cols.add(info[2])
    return cols


def _counts(store) -> dict:
    tables = [r[0] for r in store.db.execute_sql("SELECT name FROM sqlite_master WHERE type='table'")]
    return {t: store.db.execute_sql(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_pragmas(app):
    store = app.store
    assert _pragma(store, "journal_mode") == "wal"
    assert _pragma(store, "foreign_keys") == 1
    assert _pragma(store, "busy_timeout") >= 1000


def test_every_fk_and_view_filter_column_is_indexed(app):
    registry = app.store.registry
    for table in registry.tables.values():
        indexed = _indexed_columns(app.store, table.name)
        for name, link in table.links.items():
            if link.kind == "fk":
                assert f"{name}_id" in indexed, (table.name, name)
        for col in layout.INDEXES.get(table.name, ()):
            if col in table.columns:
                assert col in indexed, (table.name, col)


def test_schema_version_is_current(app):
    assert app.store.schema_version() == SCHEMA_VERSION == 5


def test_second_init_changes_nothing(app):
    before = _counts(app.store)
    key = Users(app.store).api_key("ionadmin")
    report = initialize(app.settings, app.store, demo_data=True)
    assert report.loaded_reference == 0 and report.loaded_demo == 0 and not report.created_users
    assert _counts(app.store) == before
    assert Users(app.store).api_key("ionadmin") == key


def test_newer_schema_is_refused(tmp_path):
    settings = make_settings(tmp_path / "data")
    app = build_app(settings)
    initialize(settings, app.store)
    with app.store.write():
        app.store.db.execute_sql('INSERT INTO "schema_version" (version) VALUES (?)', (SCHEMA_VERSION + 1,))
    app.close()
    store = Store(settings.db_path)
    try:
        with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}.*Upgrade torrentlite"):
            store.migrate()
    finally:
        store.close()


@pytest.mark.parametrize("driver", ["apsw", "sqlite3"])
def test_both_drivers_smoke(tmp_path, driver):
    settings = make_settings(tmp_path / "data", db_driver=driver)
    app = build_app(settings)
    try:
        initialize(settings, app.store, demo_data=True)
        store = app.store
        assert _pragma(store, "journal_mode") == "wal"
        assert _pragma(store, "foreign_keys") == 1
        count = store.db.execute_sql('SELECT count(*) FROM "results"').fetchone()[0]
        assert count == 3
        rows = store.db.execute_sql('SELECT count(*) FROM "results" WHERE tl_regexp(?, "resultsName")',
                                    ("^Auto",)).fetchone()[0]
        assert rows == 3
        from conftest import Client, admin_headers

        body = Client(app, admin_headers(app)).get("/rundb/api/v1/results/", params={"limit": 2}).json()
        assert body["meta"]["total_count"] == 3 and len(body["objects"]) == 2
    finally:
        app.close()
