"""Request bodies: 413 before reading, anonymous bodies never read, memory flat under large uploads."""
from __future__ import annotations

import http.client
import socket
import threading
from io import BytesIO

import psutil
import pytest

from conftest import Client, admin_headers, make_settings
from servers import Served

API = "/rundb/api/v1/"
MIB = 1024 * 1024


class NeverRead(BytesIO):
    def read(self, *args):
        raise AssertionError("the body was read")


def _raw(app, method, path, environ_extra, headers=None):
    client = Client(app, headers)
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "t",
               "SERVER_PORT": "80", "REMOTE_ADDR": "10.1.2.3", "wsgi.url_scheme": "http", "wsgi.errors": None,
               "SERVER_PROTOCOL": "HTTP/1.1", **environ_extra}
    for key, value in (headers or {}).items():
        environ["HTTP_" + key.upper().replace("-", "_")] = value
    seen = {}
    body = b"".join(client.app.wsgi(environ, lambda status, h, exc=None: seen.update(status=int(status[:3]))))
    return seen["status"], body


def test_json_body_over_its_limit_is_413_without_reading(app):
    length = int(app.settings.max_json_body_mb * MIB) + 1
    status, body = _raw(app, "POST", API + "results/", {"CONTENT_LENGTH": str(length), "CONTENT_TYPE":
                        "application/json", "wsgi.input": NeverRead()}, admin_headers(app))
    assert status == 413 and b"larger than this server accepts" in body


def test_upload_gets_the_larger_limit(app):
    settings = app.settings
    assert settings.max_upload_mb > settings.max_json_body_mb
    length = int(settings.max_upload_mb * MIB) + 1
    status, _ = _raw(app, "POST", API + "plugin/install/", {"CONTENT_LENGTH": str(length), "CONTENT_TYPE":
                     "multipart/form-data; boundary=x", "wsgi.input": NeverRead()}, admin_headers(app))
    assert status == 413


def test_large_anonymous_body_is_401_without_reading(app):
    status, _ = _raw(app, "POST", API + "results/", {"CONTENT_LENGTH": str(2 * MIB), "CONTENT_TYPE":
                     "application/json", "wsgi.input": NeverRead()})
    assert status == 401


def test_body_longer_than_announced_limit_is_cut_off_while_streaming(demo_template, tmp_path):
    from conftest import _copy_data_dir
    from torrentlite.app import build_app

    data = _copy_data_dir(demo_template, tmp_path / "data")
    app = build_app(make_settings(data, max_json_body_mb="1"))
    try:
        stream = BytesIO(b"[" + b"1," * MIB + b"1]")
        status, body = _raw(app, "POST", API + "results/", {"HTTP_TRANSFER_ENCODING": "chunked",
                            "CONTENT_TYPE": "application/json", "wsgi.input": stream}, admin_headers(app))
        assert status == 413 and stream.tell() <= MIB + 64 * 1024
    finally:
        app.close()


def test_server_refuses_on_content_length_before_the_body_is_sent(tmp_path):
    with Served(tmp_path / "d", "--max-upload-mb", "1", "--no-trust-loopback") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /rundb/api/v1/plugin/install/ HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 104857600\r\n\r\n")
            answer = sock.recv(4096)  # no body was sent: the answer can only come from the headers
        assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
        server.stop()


@pytest.mark.parametrize("size_mb", [50])
def test_memory_stays_flat_under_concurrent_large_anonymous_bodies(tmp_path, size_mb):
    with Served(tmp_path / "d", "--no-trust-loopback") as server:
        process = psutil.Process(server.proc.pid)
        before = process.memory_info().rss
        chunk = b"x" * MIB
        statuses = []

        def send():
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            conn.putrequest("POST", API + "plugin/install/")  # an upload: within the size limit
            conn.putheader("Content-Type", "multipart/form-data; boundary=x")
            conn.putheader("Content-Length", str(size_mb * MIB))
            conn.endheaders()
            try:
                for _ in range(size_mb):
                    conn.send(chunk)
                statuses.append(conn.getresponse().status)
            except OSError:  # the server may answer and close before the whole body is sent
                statuses.append("closed")
            finally:
                conn.close()

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        peak = before
        while any(t.is_alive() for t in threads):
            peak = max(peak, process.memory_info().rss)
            threads[0].join(0.05)
        for thread in threads:
            thread.join()
        assert all(s in (401, "closed") for s in statuses), statuses
        # Reading the four bodies would cost at least 200 MB; a generous bound for allocator noise.
        assert peak - before < 40 * MIB, (before, peak)
        server.stop()
