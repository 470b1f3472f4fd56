"""Shared fixtures: a demo data directory, the WSGI app, an in-process client and a live server."""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode

import pytest

from torrentlite.app import build_app
from torrentlite.cli_author import serve_api
from torrentlite.settings import resolve
from torrentlite.setup_data import initialize
from torrentlite.store.users import Users

REPO = Path(__file__).resolve().parent.parent


@dataclass
class WsgiResponse:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class Client:
    """Calls the WSGI app directly (no socket), like a requests session with default headers."""

    def __init__(self, app, headers=None, remote_addr="10.1.2.3"):
        self.app = app
        self.headers = dict(headers or {})
        self.remote_addr = remote_addr

    def request(self, method, path, params=None, json_body=None, data=None, headers=None) -> WsgiResponse:
        path, _, query = path.partition("?")
        if params:
            query = "&".join(q for q in (query, urlencode(params, doseq=True)) if q)
        if json_body is not None:
            data = json.dumps(json_body).encode()
        data = data if isinstance(data, bytes) else (data or "").encode()
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver",
            "SERVER_PORT": "80", "REMOTE_ADDR": self.remote_addr, "wsgi.input": BytesIO(data),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": "application/json" if json_body is not None else "",
        }
        for key, value in {**self.headers, **(headers or {})}.items():
            name = key.upper().replace("-", "_")
            if name == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            else:
                environ[f"HTTP_{name}"] = value
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = dict(response_headers)

        body = b"".join(self.app.wsgi(environ, start_response))
        return WsgiResponse(captured["status"], captured["headers"], body)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def make_settings(data_dir: Path, **overrides):
    return resolve({"data_dir": str(data_dir), **overrides}, environ={})


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A data directory with reference data and the demo runs, built once per test session."""
    data_dir = tmp_path_factory.mktemp("demo-template")
    # Without the demo plugins: tests of plugin management start from an empty plugin list.
    settings = make_settings(data_dir, demo_plugins=False)
    app = build_app(settings)
    initialize(settings, app.store, demo_data=True)
    Users(app.store).api_key("ionadmin")
    app.close()
    return data_dir


# Columns holding absolute paths into the data directory (report folders, raw-data folders, genomes, BED
# files): a test that changes those files (data management) must change its copy's.
PATH_COLUMNS = (("reportstorage", "dirPath"), ("experiment", "expDir"), ("referencegenome", "reference_path"),
                ("content", "file"), ("contentupload", "file_path"), ("publisher", "path"),
                ("experimentanalysissettings", "targetRegionBedFile"),
                ("experimentanalysissettings", "hotSpotRegionBedFile"),
                ("experimentanalysissettings", "barcodedSamples"), ("plugin", "path"), ("plugin", "script"))


def _copy_data_dir(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    # The demo's report folders are addressed by absolute path in the database; keep them valid.
    settings = make_settings(target)
    app = build_app(settings)
    for table, column in PATH_COLUMNS:
        app.store.db.execute_sql(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?)',
                                 (str(template), str(target)))
    app.close()
    return target


@pytest.fixture(scope="session")
def shared_app(demo_template, tmp_path_factory):
    """A read-only demo app shared by every test that only reads."""
    data_dir = _copy_data_dir(demo_template, tmp_path_factory.mktemp("shared") / "data")
    app = build_app(make_settings(data_dir))
    yield app
    app.close()


@pytest.fixture
def app(demo_template, tmp_path):
    """A fresh demo app per test, for tests that write."""
    data_dir = _copy_data_dir(demo_template, tmp_path / "data")
    app = build_app(make_settings(data_dir))
    yield app
    app.close()


def admin_headers(app) -> dict:
    return {"Authorization": f"ApiKey ionadmin:{Users(app.store).api_key('ionadmin')}"}


def basic_headers(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def client(app) -> Client:
    """Authenticated as ionadmin through an API key, from a non-loopback address."""
    return Client(app, admin_headers(app))


@pytest.fixture(scope="session")
def reader(shared_app) -> Client:
    return Client(shared_app, admin_headers(shared_app))


@pytest.fixture
def anonymous(app) -> Client:
    return Client(app)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_responds(url: str, timeout: float = 30.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    proc: subprocess.Popen
    api_key: str


@contextmanager
def serve_demo(data_dir: Path, *flags: str):
    """`python -m torrentlite serve --demo <flags>` as a real process on a free port, until the block ends."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--demo", "--port", str(port),
                             "--data-dir", str(data_dir), "--no-trust-loopback", "--threads", "4", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_responds(f"{url}/rundb/api/v1/", proc=proc)
        key = subprocess.run([sys.executable, "-m", "torrentlite", "user", "key", "ionadmin", "--data-dir",
                              str(data_dir)], capture_output=True, text=True, env=env, check=True).stdout.strip()
        yield LiveServer(url, data_dir, proc, key)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def live_server(tmp_path):
    """A served demo data directory, without the demo plugins."""
    with serve_demo(tmp_path / "live", "--no-demo-plugins") as server:
        yield server


@contextmanager
def served_in_thread(app):
    """The app under waitress on a free 127.0.0.1 port inside this process; yields the base URL."""
    url, stop = serve_api(app)  # stopped through the server's own loop, so its select never sees a closed socket
    try:
        yield url
    finally:
        stop()
