"""Row counts kept by triggers: an unfiltered list's total_count is the table's real count after
writes through every path (POST, list PATCH, DELETE, cascades, a failed write), after the migration
that adds them, and `torrentlite check` finds and repairs counts that left their tables."""
from __future__ import annotations

import sqlite3

from servers import cli
from torrentlite.store import rowcounts

API = "/rundb/api/v1/"


def _actual(app, table: str) -> int:
    return app.store.db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


def _listed_total(client, resource: str) -> int:
    response = client.get(f"{API}{resource}/", params={"limit": 1})
    assert response.status == 200, response.body
    return response.json()["meta"]["total_count"]


def test_every_table_is_counted_and_the_count_is_its_rows(app):
    db = app.store.db
    for table in app.store.registry.tables:
        assert rowcounts.row_count(db, table) == _actual(app, table), table
    assert rowcounts.drifted(db.execute_sql) == []


def test_every_write_path_keeps_the_counts_in_step(app, client):
    results_before = _actual(app, "results")
    assert _listed_total(client, "results") == results_before > 0
    # POST, then a POST that fails validation: the failed one counts nothing.
    created = client.post(f"{API}project/", json_body={"name": "Counted_project", "creator": f"{API}user/1/"})
    assert created.status == 201, created.body
    assert client.post(f"{API}project/", json_body={"name": "x" * 500, "creator": f"{API}user/99999/"}).status == 400
    assert _listed_total(client, "project") == _actual(app, "project")
    # List PATCH creating two objects in one transaction.
    body = {"objects": [{"name": f"Batch_{i}", "creator": f"{API}user/1/"} for i in range(2)]}
    assert client.patch(f"{API}project/", json_body=body).status == 202
    assert _listed_total(client, "project") == _actual(app, "project")
    # DELETE, and a cascade: an experiment takes its reports and their metrics with it.
    project = client.get(f"{API}project/", params={"name": "Counted_project"}).json()["objects"][0]
    assert client.delete(f"{API}project/{project['id']}/").status == 204
    report = client.get(f"{API}results/?limit=1&order_by=id").json()["objects"][0]
    exp_pk = int(report["experiment"].rstrip("/").rsplit("/", 1)[1])
    assert client.delete(f"{API}experiment/{exp_pk}/").status == 204
    assert _actual(app, "results") < results_before
    for resource in ("project", "results", "experiment", "libmetrics", "pluginresult"):
        assert _listed_total(client, resource) == _actual(app, resource), resource
    assert rowcounts.drifted(app.store.db.execute_sql) == []


def test_the_migration_counts_the_rows_already_there(app, client):
    db = app.store.db
    with app.store.write():
        for (name,) in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
                                      (f"{rowcounts.COUNTS}_%",)).fetchall():
            db.execute_sql(f'DROP TRIGGER "{name}"')
        db.execute_sql(f'DROP TABLE "{rowcounts.COUNTS}"')
        db.execute_sql('DELETE FROM "schema_version" WHERE version >= 5')
    assert app.store.migrate() == 4
    assert rowcounts.drifted(db.execute_sql) == []
    assert _listed_total(client, "results") == _actual(app, "results")
    assert client.delete(f"{API}project/{client.get(f'{API}project/?limit=1').json()['objects'][0]['id']}/").status == 204
    assert _listed_total(client, "project") == _actual(app, "project")


def test_check_finds_counts_out_of_step_and_counts_again(tmp_path):
    data_dir = tmp_path / "data"
    assert cli("init", "--demo", "--no-demo-plugins", "--data-dir", data_dir).returncode == 0
    conn = sqlite3.connect(data_dir / "torrentlite.sqlite3")
    conn.execute(f'UPDATE "{rowcounts.COUNTS}" SET "rows" = "rows" + 7 WHERE "name" = \'results\'')
    conn.commit()
    conn.close()
    done = cli("check", "--quiet", "--data-dir", data_dir)
    assert done.returncode == 1 and "row counts" in done.stdout and "results: kept" in done.stdout, done.stdout
    fixed = cli("check", "--rebuild-indexes", "--data-dir", data_dir)
    assert fixed.returncode == 0 and "row counts" not in fixed.stdout, fixed.stdout
