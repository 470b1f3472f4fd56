"""Reused GET pages: byte-identical to a fresh build, and never served after the database changed,
whoever changed it (this thread, another thread, another process)."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import apsw

from conftest import Client, _copy_data_dir, admin_headers, basic_headers, make_settings
from torrentlite.app import build_app
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


def _rename_project_in_another_thread(app, old: str, new: str) -> None:
    done = threading.Event()

    def write():
        with app.store.write():
            app.store.db.execute_sql('UPDATE "project" SET name = ? WHERE name = ?', (new, old))
        app.store.db.close()  # this thread's connection
        done.set()

    threading.Thread(target=write).start()
    assert done.wait(10)


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
    _rename_project_in_another_thread(app, "from_elsewhere", "renamed_in_thread")
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


def _count_handled(app, monkeypatch) -> list:
    """Paths that went through the full request handling (not answered from a kept page directly)."""
    handled = []
    real = app.api.handle

    def counted(method, path, *args, **kwargs):
        handled.append(path)
        return real(method, path, *args, **kwargs)
    monkeypatch.setattr(app.api, "handle", counted)
    return handled


def test_a_kept_page_is_answered_as_the_full_handling_answers_it(app, client, monkeypatch):
    key = admin_headers(app)["Authorization"].rsplit(":", 1)[1]
    by_params = Client(app)
    for path, caller in ((f"{API}results/?limit=3", client), (f"{API}results/1/", client),
                         (f"{API}experiment/?format=jsonp&callback=cb", client),
                         (f"{API}results/?limit=2&username=ionadmin&api_key={key}", by_params)):
        built = caller.get(path)
        handled = _count_handled(app, monkeypatch)
        reused = caller.get(path)
        monkeypatch.undo()
        assert handled == []  # answered from the kept page without routing it again
        assert (reused.status, reused.headers, reused.body) == (built.status, built.headers, built.body)


def test_requests_that_may_mean_more_than_the_plain_read_are_handled_in_full(app, client, monkeypatch):
    path = f"{API}results/1/"
    page = _get(client, path)
    handled = _count_handled(app, monkeypatch)
    # Another method by override: answered as that method, not with the kept page.
    options = client.get(path, headers={"X-HTTP-Method-Override": "OPTIONS"})
    assert options.status == 200 and options.body != page and "Allow" in options.headers
    # A body, even on a GET, is checked as on any request.
    too_big = client.request("GET", path, data=b"x" * (int(app.settings.max_json_body_mb * 1024 * 1024) + 1))
    assert too_big.status == 413
    # A plugin's key in the query is tried before the API key, so only the full handling can tell.
    plugin_keyed = client.get(path, params={"pluginresult": "999999", "api_key": "nope"})
    assert plugin_keyed.status == 200 and plugin_keyed.body == page
    assert handled == [path[len(API):]] * 2  # the oversized body was refused before handling began


def test_an_endpoint_registered_later_answers_its_path(app, client):
    path = f"{API}results/1/"
    _get(client, path)

    @app.api.endpoint("results", r"(?P<pk>\d+)/")
    def custom(call):
        from torrentlite.api.http import Response
        return Response(200, {"custom": call.match["pk"]})

    app.api.endpoints.insert(0, app.api.endpoints.pop())
    assert client.get(path).json() == {"custom": "1"}


def test_unknown_or_changed_callers_never_get_a_kept_page(app, client):
    path = f"{API}results/?limit=1"
    _get(client, path)
    assert Client(app, {"Authorization": "ApiKey ionadmin:" + "0" * 40}).get(path).status == 401
    assert Client(app).get(path).status == 401
    other = apsw.Connection(str(app.settings.db_path))
    other.execute('DELETE FROM "apikey"')
    other.close()
    assert client.get(path).status == 401


def test_a_commit_moves_the_mark_once_however_many_threads_look(app):
    mark = app.api.pages.mark
    looked, seen = threading.Barrier(5), []

    def look():
        mark.current()  # this thread's first look, on its own new connection
        looked.wait(10)
        looked.wait(10)  # the commit happens between the two waits
        seen.append(mark.current())
        app.store.db.close()

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    looked.wait(10)
    before = mark.current()
    other = apsw.Connection(str(app.settings.db_path))
    other.execute('INSERT INTO "project" (name, public, creator_id, modified) VALUES '
                  "('one_commit', 1, 1, '2020-01-01 00:00:00.000000')")
    other.close()
    looked.wait(10)
    for thread in threads:
        thread.join(10)
    assert seen == [before + 1] * 4  # every thread sees the commit; the page is built again once


def test_with_the_sqlite3_driver_writes_elsewhere_are_seen_too(demo_template, tmp_path):
    app = build_app(make_settings(_copy_data_dir(demo_template, tmp_path / "data"), db_driver="sqlite3"))
    try:
        client = Client(app, admin_headers(app))
        path = f"{API}project/?limit=0"
        _get(client, path)
        _get(client, path)
        # Another process, through Python's sqlite3 as this server's connections.
        subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                        "c.execute(\"INSERT INTO project (name, public, creator_id, modified) VALUES "
                        "('from_elsewhere', 1, 1, '2020-01-01 00:00:00.000000')\"); c.commit()",
                        str(app.settings.db_path)], check=True, timeout=60)
        assert b"from_elsewhere" in _get(client, path)
        _rename_project_in_another_thread(app, "from_elsewhere", "renamed_in_thread")
        assert b"renamed_in_thread" in _get(client, path)
    finally:
        app.close()


def test_requests_that_arrive_while_their_page_is_built_wait_for_it(app, monkeypatch):
    building, release, builds, answers, waiting = threading.Event(), threading.Event(), [], [], []

    class CountedEvent(threading.Event):
        def wait(self, timeout=None):
            if threading.current_thread().name.startswith("asker"):
                waiting.append(threading.current_thread().name)
            return super().wait(timeout)
    monkeypatch.setattr(page_cache.threading, "Event", CountedEvent)
    cache, user = app.api.pages, Users(app.store).require("ionadmin")

    def build():
        builds.append(1)
        building.set()
        release.wait(10)
        return b'{"objects": []}', "application/json"

    def ask():
        answers.append(cache.page("results", "", "limit=7", user, build, 12345))

    first = threading.Thread(target=ask)
    first.start()
    assert building.wait(10)
    others = [threading.Thread(target=ask, name=f"asker{i}") for i in range(3)]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 10
    while len(waiting) < 3 and time.monotonic() < deadline:  # until the three wait for the page being built
        time.sleep(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    assert sorted(waiting) == ["asker0", "asker1", "asker2"]
    assert len(builds) == 1 and answers == [(b'{"objects": []}', "application/json")] * 4
