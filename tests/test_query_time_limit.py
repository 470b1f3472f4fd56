"""Every SQL statement of an API request is bounded by query_time_limit (SQLite's progress handler), regex
filters are bounded inside a row too, and an interrupted request leaves its connection usable."""
from __future__ import annotations

import threading
import urllib.error
import urllib.request

import pytest
import waitress

from conftest import Client, _copy_data_dir, admin_headers, free_port, make_settings, wait_until_responds
from torrentlite.app import build_app
from torrentlite.store.time_limit import QueryTimeout

API = "/rundb/api/v1/"
# Exponential backtracking even for the `regex` package's optimiser: (a|aa)+$ against a run of a's ending in b.
CATASTROPHIC = r"(a|aa)+$"
LONG_NAME = "a" * 80 + "b"
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture(params=["apsw", "sqlite3"])
def limited(demo_template, tmp_path, request):
    data_dir = _copy_data_dir(demo_template, tmp_path / "data")
    app = build_app(make_settings(data_dir, query_time_limit=0.5, db_driver=request.param))
    with app.store.write():
        app.store.db.execute_sql('UPDATE "results" SET "resultsName" = ? WHERE id = (SELECT MIN(id) FROM "results")',
                                 (LONG_NAME,))
    yield app
    app.close()


def test_a_backtracking_regex_filter_is_a_400_and_the_connection_stays_usable(limited):
    client = Client(limited, admin_headers(limited))
    for lookup in ("regex", "iregex"):
        response = client.get(f"{API}results/", params={f"resultsName__{lookup}": CATASTROPHIC})
        assert response.status == 400, response.body
        assert "query_time_limit" in response.json()["error"]
        # Same thread, same SQLite connection: it answers the next request normally.
        after = client.get(f"{API}results/", params={"resultsName__regex": "^a+b$"})
        assert after.status == 200 and [o["resultsName"] for o in after.json()["objects"]] == [LONG_NAME]


def test_a_long_statement_is_interrupted_inside_a_transaction(limited):
    store = limited.store
    with pytest.raises(QueryTimeout):
        with store.time_limit(0.2):
            with store.read():
                store.db.execute_sql(ENDLESS).fetchall()
    assert not store.db.in_transaction()
    assert store.db.execute_sql('SELECT count(*) FROM "results"').fetchone()[0] == 3
    # Outside a limit nothing is interrupted (the handler is removed again).
    assert store.db.execute_sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) "
                                "SELECT count(*) FROM c").fetchone()[0] == 200000


def test_an_invalid_pattern_is_a_400(limited):
    client = Client(limited, admin_headers(limited))
    response = client.get(f"{API}results/", params={"resultsName__regex": "(unclosed"})
    assert response.status == 400 and "regular expression" in response.json()["error"]
    response = client.get(f"{API}compositedatamanagement/", params={"search_name": "[z-a]"})
    assert response.status == 400


def test_other_requests_are_served_while_a_regex_runs(demo_template, tmp_path):
    data_dir = _copy_data_dir(demo_template, tmp_path / "data")
    app = build_app(make_settings(data_dir, query_time_limit=4))
    with app.store.write():
        app.store.db.execute_sql('UPDATE "results" SET "resultsName" = ?', (LONG_NAME,))
    key = admin_headers(app)["Authorization"]
    port = free_port()
    server = waitress.create_server(app.wsgi, host="127.0.0.1", port=port, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}{API}"
    slow_done, outcome = threading.Event(), {}

    def slow():
        request = urllib.request.Request(f"{url}results/?resultsName__regex={CATASTROPHIC.replace('+', '%2B')}",
                                         headers={"Authorization": key})
        try:
            urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as exc:
            outcome["slow"] = exc.code
        slow_done.set()

    try:
        wait_until_responds(f"{url}getsoftwareinfo/")
        worker = threading.Thread(target=slow)
        worker.start()
        request = urllib.request.Request(f"{url}results/?limit=1", headers={"Authorization": key})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
        # The quick request was answered while the regex still ran: it did not hold the interpreter.
        assert not slow_done.is_set()
        worker.join(60)
        assert outcome.get("slow") == 400
    finally:
        server.close()
        app.close()
