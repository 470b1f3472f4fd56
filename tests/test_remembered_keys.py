"""A verified API key or HTTP Basic password is taken again without a lookup only while the database is
unchanged: a deleted or changed key or password, a deactivated user or a withdrawn permission counts from
the very next request, whoever changed it (another process, this thread's own connection)."""
from __future__ import annotations

import http.client
import subprocess
import sys
import textwrap

import apsw

from conftest import Client, admin_headers
from served import served  # noqa: F401  (fixture)
from torrentlite.store.users import Users

API = "/rundb/api/v1/"


def _count_lookups(app, monkeypatch) -> list:
    lookups = []
    real = app.api.auth.users.by_api_key

    def counted(username, key):
        lookups.append(username)
        return real(username, key)
    monkeypatch.setattr(app.api.auth.users, "by_api_key", counted)
    return lookups


def _write_elsewhere(app, sql: str, params=()) -> None:
    """`sql` committed by another connection to the same file (apsw, as the server's own driver)."""
    other = apsw.Connection(str(app.settings.db_path))
    other.execute(sql, params)
    other.close()


def _write_in_another_process(app, sql: str) -> None:
    code = textwrap.dedent(f"""
        import apsw, sys
        conn = apsw.Connection(sys.argv[1])
        conn.execute({sql!r})
        conn.close()
    """)
    subprocess.run([sys.executable, "-c", code, str(app.settings.db_path)], check=True, timeout=60)


def test_a_verified_key_is_looked_up_once_while_nothing_changes(app, monkeypatch):
    lookups = _count_lookups(app, monkeypatch)
    client = Client(app, admin_headers(app))
    for _ in range(3):
        assert client.get(f"{API}results/?limit=1").status == 200
    assert lookups == ["ionadmin"]
    # The remembered key is compared like the stored one: any other key for that user is refused.
    wrong = Client(app, {"Authorization": "ApiKey ionadmin:" + "0" * 40})
    assert wrong.get(f"{API}results/?limit=1").status == 401
    by_params = Client(app).get(f"{API}results/?limit=1", params={"username": "ionadmin",
                                                                  "api_key": Users(app.store).api_key("ionadmin")})
    assert by_params.status == 200


def test_wrong_keys_are_not_remembered(app, monkeypatch):
    lookups = _count_lookups(app, monkeypatch)
    wrong = Client(app, {"Authorization": "ApiKey ionadmin:" + "0" * 40})
    for _ in range(2):
        assert wrong.get(f"{API}results/").status == 401
    assert lookups == ["ionadmin", "ionadmin"]


def test_a_key_deleted_by_another_process_stops_working_at_once(app):
    client = Client(app, admin_headers(app))
    assert client.get(f"{API}results/?limit=1").status == 200
    assert client.get(f"{API}results/?limit=1").status == 200
    _write_in_another_process(app, 'DELETE FROM "apikey" WHERE user_id = '
                                   '(SELECT id FROM "user" WHERE username = \'ionadmin\')')
    assert client.get(f"{API}results/?limit=1").status == 401


def test_a_changed_key_stops_working_at_once(app):
    old = Client(app, admin_headers(app))
    assert old.get(f"{API}experiment/?limit=1").status == 200
    _write_elsewhere(app, 'UPDATE "apikey" SET key = ? WHERE user_id = (SELECT id FROM "user" WHERE username = ?)',
                     ("f" * 40, "ionadmin"))
    assert old.get(f"{API}experiment/?limit=1").status == 401
    assert Client(app, {"Authorization": "ApiKey ionadmin:" + "f" * 40}).get(f"{API}experiment/?limit=1").status == 200


def test_a_key_deleted_on_this_threads_own_connection_stops_working(app):
    client = Client(app, admin_headers(app))
    assert client.get(f"{API}results/?limit=1").status == 200
    # The test calls the app in this thread, so this is the connection the request just used.
    app.store.db.execute_sql('DELETE FROM "apikey"')
    assert client.get(f"{API}results/?limit=1").status == 401


def test_deactivation_and_withdrawn_permissions_count_at_once(app):
    users = Users(app.store)
    users.create("carol", "pw-carol", permissions=["change_results"])
    carol = Client(app, {"Authorization": f"ApiKey carol:{users.api_key('carol')}"})
    path = f"{API}results/1/"
    assert carol.patch(path, json_body={"resultsName": "by carol"}).status == 202
    assert carol.get(path).status == 200
    _write_elsewhere(app, 'DELETE FROM "user_permission" WHERE codename = ?', ("change_results",))
    assert carol.patch(path, json_body={"resultsName": "by carol again"}).status == 401
    assert carol.get(path).status == 200
    _write_elsewhere(app, 'UPDATE "user" SET is_active = 0 WHERE username = ?', ("carol",))
    assert carol.get(path).status == 401


def _basic(username: str, password: str) -> dict:
    import base64
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_a_basic_password_is_checked_once_while_nothing_changes_and_not_after(app, monkeypatch):
    users = Users(app.store)
    users.create("dave", "pw-dave", permissions=["change_results"])
    checks = []
    real = app.api.auth.users.password_ok
    monkeypatch.setattr(app.api.auth.users, "password_ok",
                        lambda username, password: checks.append(username) or real(username, password))
    dave = Client(app, _basic("dave", "pw-dave"))
    for _ in range(3):
        assert dave.get(f"{API}results/?limit=1").status == 200
    assert checks == ["dave"]
    # A wrong password is checked (and refused) every time, never taken for the remembered one.
    for _ in range(2):
        assert Client(app, _basic("dave", "pw-dave!")).get(f"{API}results/?limit=1").status == 401
    assert checks == ["dave"] * 3
    assert dave.patch(f"{API}results/1/", json_body={"resultsName": "by dave"}).status == 202
    users.set_password("dave", "new-pw")
    assert dave.get(f"{API}results/?limit=1").status == 401
    assert Client(app, _basic("dave", "new-pw")).get(f"{API}results/?limit=1").status == 200
    _write_elsewhere(app, 'UPDATE "user" SET is_active = 0 WHERE username = ?', ("dave",))
    assert Client(app, _basic("dave", "new-pw")).get(f"{API}results/?limit=1").status == 401


def _get(url: str, path: str, key: str) -> int:
    host, port = url.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"ApiKey ionadmin:{key}"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_a_served_key_deleted_by_another_process_is_refused_on_every_thread(app, served):  # noqa: F811
    key = admin_headers(app)["Authorization"].rsplit(":", 1)[1]
    # Enough requests that every server thread has verified and remembered the key.
    assert {_get(served, f"{API}results/?limit=1", key) for _ in range(12)} == {200}
    _write_in_another_process(app, 'DELETE FROM "apikey"')
    assert {_get(served, f"{API}results/?limit=1", key) for _ in range(12)} == {401}
