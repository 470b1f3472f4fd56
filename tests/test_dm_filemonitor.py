"""Downloads by URL: filemonitor rows with progress, resume with Range, cancel, checksums, bad URLs."""
from __future__ import annotations

import base64
import hashlib
import http.server
import os
import threading
import time

import pytest

from torrentlite.datamgmt import filemonitor

PAYLOAD = os.urandom(300_000)
API = "/rundb/api/v1/"


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD with Range support; /broken stops half-way once, /slow trickles, /md5 states a checksum."""

    broken_once = True
    gate = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/missing"):
            self.send_error(404, "Not Found")
            return
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
        body = PAYLOAD[start:]
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(body)))
        if self.path.startswith("/md5"):
            self.send_header("Content-MD5", base64.b64encode(hashlib.md5(PAYLOAD).digest()).decode())
        if self.path.startswith("/badmd5"):
            self.send_header("Content-MD5", base64.b64encode(hashlib.md5(b"x").digest()).decode())
        self.send_header("Content-Disposition", 'attachment; filename="panel.bed"')
        self.end_headers()
        if self.path.startswith("/broken") and Handler.broken_once:
            Handler.broken_once = False
            self.wfile.write(body[:100_000])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        if self.path.startswith("/slow"):
            self.wfile.write(body[:50_000])
            self.wfile.flush()
            Handler.gate.wait(20)
            return
        self.wfile.write(body)


@pytest.fixture
def http_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Handler.broken_once = True
    Handler.gate.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    Handler.gate.set()
    server.shutdown()
    server.server_close()


def _wait(client, pk, statuses, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = client.get(f"{API}filemonitor/{pk}/").json()
        if obj["status"] in statuses:
            return obj
        time.sleep(0.05)
    raise AssertionError(f"download {pk} still {obj['status']}")


def test_download_completes_with_size_progress_and_checksum(app, client, http_url):
    seen = []
    pk = filemonitor.create(app.store, f"{http_url}/md5/file")
    status = filemonitor.download(app.store, pk, str(app.settings.data_path / "downloads"),
                                  progress=lambda done, size: seen.append((done, size)))
    assert status == "Complete"
    obj = client.get(f"{API}filemonitor/{pk}/").json()
    assert obj["status"] == "Complete" and obj["size"] == str(len(PAYLOAD)) and obj["progress"] == obj["size"]
    assert obj["name"] == "panel.bed" and obj["md5sum"] == hashlib.md5(PAYLOAD).hexdigest()
    path = os.path.join(obj["local_dir"], obj["name"])
    assert open(path, "rb").read() == PAYLOAD and os.listdir(obj["local_dir"]) == ["panel.bed"]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and len(seen) > 1


def test_a_broken_transfer_resumes_with_a_range_request(app, client, http_url):
    base = str(app.settings.data_path / "downloads")
    pk = filemonitor.create(app.store, f"{http_url}/broken/file")
    assert filemonitor.download(app.store, pk, base) == "Connection Lost"
    obj = client.get(f"{API}filemonitor/{pk}/").json()
    assert 0 < int(obj["progress"]) < len(PAYLOAD)
    response = client.post(f"{API}filemonitor/{pk}/resume/")
    assert response.status == 202
    obj = _wait(client, pk, ("Complete",))
    assert open(os.path.join(obj["local_dir"], obj["name"]), "rb").read() == PAYLOAD


def test_cancel_removes_the_partial_file(app, client, http_url):
    response = client.post(f"{API}filemonitor/download/", json_body={"url": f"{http_url}/slow/x", "tags": "bedfile"})
    assert response.status == 202, response.body
    pk = response.json()["id"]
    obj = _wait(client, pk, ("Downloading",))
    deadline = time.monotonic() + 10
    while int(client.get(f"{API}filemonitor/{pk}/").json()["progress"]) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    local_dir = client.get(f"{API}filemonitor/{pk}/").json()["local_dir"]
    assert os.path.isdir(local_dir)
    assert client.post(f"{API}filemonitor/{pk}/cancel/").status == 202
    Handler.gate.set()
    obj = _wait(client, pk, ("Cancelled",))
    assert not os.path.exists(local_dir) and obj["local_dir"] == ""


@pytest.mark.parametrize("path, status", [("/missing/file", "HTTP Error: Not Found"),
                                          ("/badmd5/file", "Error: identity hash mismatch")])
def test_failures_leave_nothing_behind(app, client, http_url, path, status):
    base = app.settings.data_path / "downloads"
    pk = filemonitor.create(app.store, http_url + path)
    assert filemonitor.download(app.store, pk, str(base)) == status
    assert client.get(f"{API}filemonitor/{pk}/").json()["status"] == status
    assert list(base.iterdir()) == []


def test_bad_urls_are_refused_with_a_clear_error(app, client):
    for url in ("ftp://x/y", "not a url", "", "file:///etc/passwd"):
        response = client.post(f"{API}filemonitor/download/", json_body={"url": url})
        assert response.status == 400 and "Invalid URL" in response.json()["error"], url
    assert client.get(f"{API}filemonitor/").json()["meta"]["total_count"] == 0
    pk = filemonitor.create(app.store, "http://127.0.0.1:9/nothing-listens-here")
    assert filemonitor.download(app.store, pk, str(app.settings.data_path / "downloads")) == "Connection Error"
    assert list((app.settings.data_path / "downloads").iterdir()) == []


def test_cli_download_shows_progress(app, http_url, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    data_dir = app.settings.data_path
    app.store.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    run = subprocess.run([sys.executable, "-m", "torrentlite", "dm", "download", f"{http_url}/md5/f", "--dest",
                          str(tmp_path), "--data-dir", str(data_dir)], capture_output=True, text=True, env=env,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "100.0%" in run.stderr and "panel.bed" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "torrentlite", "dm", "download", "nope", "--data-dir",
                          str(data_dir)], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "Invalid URL" in bad.stderr and "Traceback" not in bad.stderr


def test_deleting_a_monitor_removes_its_download(app, client, anonymous, http_url):
    pk = filemonitor.create(app.store, f"{http_url}/md5/file")
    filemonitor.download(app.store, pk, str(app.settings.data_path / "downloads"))
    local_dir = client.get(f"{API}filemonitor/{pk}/").json()["local_dir"]
    assert os.path.isdir(local_dir)
    assert client.patch(f"{API}filemonitor/{pk}/", json_body={"tags": "bedfile"}).status == 202
    assert client.delete(f"{API}filemonitor/{pk}/").status == 204
    assert not os.path.exists(local_dir) and client.get(f"{API}filemonitor/{pk}/").status == 404
    # A monitor whose folder lies elsewhere (written by a client) keeps that folder.
    outside = app.settings.data_path / "elsewhere"
    outside.mkdir()
    response = client.post(f"{API}filemonitor/", json_body={"url": "http://x/y", "local_dir": str(outside),
                                                             "name": "y", "status": "Complete", "tags": "",
                                                             "celery_task_id": "", "progress": "0"})
    assert response.status == 201, response.body
    other = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert anonymous.delete(f"{API}filemonitor/{other}/").status == 401
    assert client.delete(f"{API}filemonitor/{other}/").status == 204 and outside.is_dir()
