"""The log file: request lines without credentials, tracebacks of errors, the level setting, rotation."""
from __future__ import annotations

import logging

import pytest

from conftest import Client, admin_headers
from torrentlite.logs import AccessLog, access_log, open_access_log, scrub_query, setup_logging


@pytest.fixture
def logged_app(app):
    handler = setup_logging(app.settings, console=False)
    yield app
    logging.getLogger("torrentlite").removeHandler(handler)
    logging.getLogger("torrentlite").setLevel(logging.NOTSET)
    handler.close()


@pytest.mark.parametrize("query,hidden", [
    ("username=ionadmin&api_key=abc123", "abc123"), ("API_KEY=abc123&limit=1", "abc123"),
    ("pluginresult=4&api_key=abc123", "abc123"), ("password=hunter2", "hunter2"),
    ("csrfmiddlewaretoken=tok9", "tok9"), ("a=1;apikey=abc123", "abc123"), ("api%5Fkey=abc123", "abc123"),
])
def test_scrub_query_hides_credentials(query, hidden):
    scrubbed = scrub_query(query)
    assert hidden not in scrubbed and "***" in scrubbed


def test_scrub_query_keeps_the_rest():
    assert scrub_query("limit=5&order_by=-id&status=Completed") == "limit=5&order_by=-id&status=Completed"


def _log(app) -> str:
    for handler in logging.getLogger("torrentlite").handlers:
        handler.flush()
    return (app.settings.logs_path / "torrentlite.log").read_text()


def test_each_request_is_one_line_and_errors_carry_their_traceback(logged_app):
    app = logged_app

    @app.api.endpoint("results", r"explode/")
    def explode(call):
        raise RuntimeError("kaboom for the log")

    app.api.endpoints.insert(0, app.api.endpoints.pop())
    requests = open_access_log(app.settings)
    client = Client(app, admin_headers(app))
    client.app = type("Wrapped", (), {"wsgi": staticmethod(access_log(app.wsgi, requests))})()
    key = admin_headers(app)["Authorization"].split(":")[1]
    assert client.get(f"/rundb/api/v1/results/?api_key={key}&username=ionadmin").status == 200
    assert client.get("/rundb/api/v1/results/explode/").status == 500
    assert client.get('/rundb/api/v1/x"y\nz/').status == 404
    requests.close()
    lines = (app.settings.logs_path / "access.log").read_text().splitlines()
    assert len(lines) == 3 and '"GET /rundb/api/v1/results/?api_key=***&username=ionadmin" 200' in lines[0]
    assert '"GET /rundb/api/v1/results/explode/" 500' in lines[1]
    assert '"GET /rundb/api/v1/x%22y%0Az/" 404' in lines[2]  # a line can always be split back into fields
    text = _log(app)
    assert "Traceback (most recent call last)" in text and "RuntimeError: kaboom for the log" in text
    assert key not in text and key not in "".join(lines)


def test_access_log_is_flushed_rotated_and_follows_the_level(tmp_path):
    log = AccessLog(tmp_path / "access.log", max_bytes=1000, flush_every=0.05)
    try:
        log.write("first line\n")
        from servers import wait_for

        wait_for(lambda: (tmp_path / "access.log").read_text() == "first line\n", what="the periodic flush")
        for n in range(200):
            log.write(f"request line {n:04d} padded to a realistic length of a log line\n")
    finally:
        log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["access.log", "access.log.1", "access.log.2", "access.log.3", "access.log.4", "access.log.5"]
    assert "request line 0199" in (tmp_path / "access.log").read_text()
    assert all(p.stat().st_size <= 1100 for p in tmp_path.iterdir())
    from conftest import make_settings

    assert open_access_log(make_settings(tmp_path, log_level="warning")) is None


def test_log_level_setting_and_rotation(app, tmp_path):
    from conftest import make_settings

    settings = make_settings(app.settings.data_path, log_level="warning", log_max_mb="0.001")
    handler = setup_logging(settings, console=False)
    try:
        log = logging.getLogger("torrentlite.test")
        log.info("an info line that the warning level drops")
        for n in range(60):
            log.warning("warning line %d with some padding to fill the file", n)
        handler.flush()
        logs = sorted(p.name for p in settings.logs_path.iterdir())
        assert "torrentlite.log.1" in logs and len(logs) <= 6  # rotated, five old files at most
        text = "".join(p.read_text() for p in settings.logs_path.iterdir())
        assert "info line" not in text and "warning line 59" in text
    finally:
        logging.getLogger("torrentlite").removeHandler(handler)
        handler.close()
        logging.getLogger("torrentlite").setLevel(logging.NOTSET)
