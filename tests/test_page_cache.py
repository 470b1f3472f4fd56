"""Reused GET pages: byte-identical to a fresh build, and never served after the database changed,
whoever changed it (this thread, another thread, another process)."""
from __future__ import annotations

import threading

import apsw

from conftest import Client, admin_headers, basic_headers
from torrentlite.api import page_cache
from torrentlite.store.users import Users

API = "/rundb/api/v1/"


def _get(client, path):
    response = client.get(path)
    assert response.status == 200, response.body
    return response.body


def _fresh(app, client, path, monkeypatch):
    """The page as built now, without reuse."""
    with monkeypatch.context() as m:
        m.setattr(page_cache, "CACHED", frozenset())
        return _get(client, path)


def _count_builds(app, monkeypatch) -> list:
    builds = []
    for name in ("list", "detail"):
        real = getattr(app.api.read, name)

        def counted(*args, _real=real, **kwargs):
            builds.append(args[0].name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(app.api.read, name, counted)
    return builds


def test_a_reused_page_is_the_page_built_now(app, client, monkeypatch):
    builds = _count_builds(app, monkeypatch)
    for path in (f"{API}results/?limit=2&order_by=-timeStamp", f"{API}results/1/", f"{API}experiment/",
                 f"{API}results/?format=jsonp&callback=cb"):
        first = _get(client, path)
        built = len(builds)
        assert _get(client, path) == first
        assert len(builds) == built  # reused, not rebuilt
        assert first == _fresh(app, client, path, monkeypatch)


def test_api_writes_are_seen_at_once(app, client):
    path = f"{API}results/1/"
    assert b"Renamed by test" not in _get(client, path)
    assert client.patch(path, json_body={"resultsName": "Renamed by test"}).status == 202
    assert b"Renamed by test" in _get(client, path)


def test_writes_of_another_process_and_of_other_threads_are_seen(app, client):
    path = f"{API}project/?limit=0"
    _get(client, path)
    # Another connection (a CLI command's, say) writes straight to the file.
    other = apsw.Connection(str(app.settings.db_path))
    other.execute('INSERT INTO "project" (name, public, creator_id, modified) VALUES '
                  "('from_elsewhere', 1, 1, '2020-01-01 00:00:00.000000')")
    other.close()
    assert b"from_elsewhere" in _get(client, path)
    # Another thread of this process writes through its own connection, outside any request.
    done = threading.Event()

    def write():
        with app.store.write():
            app.store.db.execute_sql('UPDATE "project" SET name = ? WHERE name = ?',
                                     ("renamed_in_thread", "from_elsewhere"))
        done.set()

    threading.Thread(target=write).start()
    assert done.wait(10)
    assert b"renamed_in_thread" in _get(client, path)
    # This very thread writes on its connection without the store's write helper.
    app.store.db.execute_sql('UPDATE "project" SET name = ? WHERE name = ?', ("same_thread", "renamed_in_thread"))
    assert b"same_thread" in _get(client, path)


def test_pages_are_kept_per_caller(app, client):
    users = Users(app.store)
    users.create("reader1", "pw-reader-1")
    path = f"{API}results/?limit=1"
    admin_page = _get(client, path)
    reader = Client(app, basic_headers("reader1", "pw-reader-1"))
    assert _get(reader, path) == admin_page
    keys = {k[4] for k in app.api.pages._pages}
    assert len(keys) == 2  # one entry per user, never one user's page for another


def test_memory_is_bounded(app, client, monkeypatch):
    monkeypatch.setattr(app.api.pages, "max_bytes", 20_000)
    for offset in range(40):
        _get(client, f"{API}kitinfo/?limit=5&offset={offset}")
    assert app.api.pages._bytes <= 20_000
    assert sum(len(p[0]) for p in app.api.pages._pages.values()) == app.api.pages._bytes
    monkeypatch.setattr(page_cache, "MAX_PAGE", 100)
    _get(client, f"{API}kitinfo/?limit=50")
    assert all(len(p[0]) <= 20_000 for p in app.api.pages._pages.values())


def test_unlisted_resources_are_always_built(app, client, monkeypatch):
    builds = _count_builds(app, monkeypatch)
    _get(client, f"{API}pluginresult/")
    _get(client, f"{API}pluginresult/")
    assert builds == ["pluginresult", "pluginresult"]
