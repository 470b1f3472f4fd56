"""/output: listings, content types, Range, conditional GET, HEAD, authentication and traversal attempts."""
from __future__ import annotations

import http.client
import os
from pathlib import Path

import pytest

from conftest import Client, admin_headers, served_in_thread
from torrentlite.app import build_app
from torrentlite.store.users import Users



def _report(app) -> tuple[str, Path]:
    link, storage = app.store.db.execute_sql(
        'SELECT r."reportLink", s."dirPath" FROM "results" r JOIN "reportstorage" s ON s.id = r.reportstorage_id '
        'ORDER BY r.id LIMIT 1').fetchone()
    return link, Path(storage) / link.split("/", 2)[2]


@pytest.fixture
def report(app):
    """A demo report folder with a few known files, and its /output URL."""
    link, folder = _report(app)
    (folder / "sub dir").mkdir(exist_ok=True)
    (folder / "sub dir" / "a<b>.txt").write_text("hello\n")
    (folder / "data.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    return link, folder


def test_listing_escapes_names_and_shows_sizes(client, report):
    link, folder = report
    response = client.get(link)
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert "ion_params_00.json" in page and "sub%20dir/" in page
    assert "1.0M" in page and 'title="1048576"' in page
    inner = client.get(link + "sub%20dir/".replace("%20", " "))
    assert "a&lt;b&gt;.txt" in inner.body.decode() and "<b>" not in inner.body.decode().split("<table>")[1]
    redirect = client.get(link.rstrip("/"))
    assert redirect.status == 301 and redirect.headers["Location"] == link


def test_content_types_and_file_body(client, report):
    link, folder = report
    response = client.get(link + "ion_params_00.json")
    assert response.status == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.body == (folder / "ion_params_00.json").read_bytes()
    assert client.get(link + "log.html").headers["Content-Type"] == "text/html; charset=utf-8"
    assert client.get(link + "data.bin").headers["Content-Type"] == "application/octet-stream"
    assert client.get(link + "data.bin").headers["Accept-Ranges"] == "bytes"


def test_range_requests(client, report):
    link, folder = report
    data = (folder / "data.bin").read_bytes()
    part = client.get(link + "data.bin", headers={"Range": "bytes=10-19"})
    assert part.status == 206 and part.body == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}" and part.headers["Content-Length"] == "10"
    tail = client.get(link + "data.bin", headers={"Range": "bytes=-5"})
    assert tail.status == 206 and tail.body == data[-5:]
    rest = client.get(link + "data.bin", headers={"Range": f"bytes={len(data) - 3}-"})
    assert rest.body == data[-3:]
    past = client.get(link + "data.bin", headers={"Range": f"bytes={len(data)}-"})
    assert past.status == 416 and past.headers["Content-Range"] == f"bytes */{len(data)}"
    several = client.get(link + "data.bin", headers={"Range": "bytes=0-1,5-6"})
    assert several.status == 200 and several.body == data
    stale = client.get(link + "data.bin", headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert stale.status == 200 and len(stale.body) == len(data)


def test_conditional_get_and_head(client, report):
    link, _folder = report
    first = client.get(link + "ion_params_00.json")
    etag, modified = first.headers["Etag"], first.headers["Last-Modified"]
    assert client.get(link + "ion_params_00.json", headers={"If-None-Match": etag}).status == 304
    assert client.get(link + "ion_params_00.json", headers={"If-Modified-Since": modified}).status == 304
    assert client.get(link + "ion_params_00.json", headers={"If-None-Match": '"nope"'}).status == 200
    head = client.request("HEAD", link + "ion_params_00.json")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == first.headers["Content-Length"] and head.headers["Etag"] == etag


def test_authentication(app, report):
    link, _folder = report
    assert Client(app).get(link + "ion_params_00.json").status == 401
    assert Client(app, remote_addr="127.0.0.1").get(link + "ion_params_00.json").status == 200
    key = Users(app.store).api_key("ionadmin")
    assert Client(app).get(link + f"ion_params_00.json?username=ionadmin&api_key={key}").status == 200
    assert Client(app, {"Authorization": "ApiKey ionadmin:wrong"}).get(link).status == 401


def test_plugin_key_reads_only_its_own_report(app, client, report):
    link, folder = report
    result_id = app.store.db.execute_sql('SELECT id FROM "results" WHERE "reportLink" = ?', (link,)).fetchone()[0]
    other = app.store.db.execute_sql('SELECT "reportLink" FROM "results" WHERE id != ? LIMIT 1',
                                     (result_id,)).fetchone()[0]
    with app.store.write():
        app.store.db.execute_sql('INSERT INTO "plugin" (name, version, active, path, date) '
                                 "VALUES ('KeyPlugin', '1.0', 1, '', '2020-01-01 00:00:00.000000')")
        plugin_id = app.store.db.execute_sql('SELECT max(id) FROM "plugin"').fetchone()[0]
        app.store.db.execute_sql('INSERT INTO "pluginresult" (plugin_id, result_id, owner_id, apikey, store, size, '
                                 "inodes) VALUES (?, ?, 1, 'k3y', '{}', 0, 0)", (plugin_id, result_id))
        pr = app.store.db.execute_sql('SELECT max(id) FROM "pluginresult"').fetchone()[0]
    own = Client(app).get(link + f"ion_params_00.json?pluginresult={pr}&api_key=k3y")
    assert own.status == 200
    header = Client(app, {"Authorization": f"PluginKey {pr}:k3y"})
    assert header.get(link + "sub dir/a<b>.txt").status == 200
    assert header.get(other + "ion_params_00.json").status == 401
    assert header.get("/output/").status == 401
    assert Client(app).get(link + f"ion_params_00.json?pluginresult={pr}&api_key=bad").status == 401


@pytest.mark.parametrize("attempt", ["../../../../../../etc/passwd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                                     "..%2f..%2f..%2fetc%2fpasswd", "sub%20dir%2fa<b>.txt", "./ion_params_00.json",
                                     "%00", "a\\..\\b", "link_to_etc/passwd", "link_to_etc/"])
def test_traversal_attempts_are_404(app, client, report, attempt):
    link, folder = report
    (folder / "link_to_etc").symlink_to("/etc")
    response = client.get(link + attempt)
    assert response.status == 404, attempt


def test_listing_hides_links_out_of_the_storage(client, report):
    link, folder = report
    (folder / "link_to_etc").symlink_to("/etc")
    (folder / "inside").symlink_to(folder / "sub dir")
    page = client.get(link).body.decode()
    assert "link_to_etc" not in page and "inside/" in page
    assert client.get(link + "inside/a<b>.txt").status == 200


def test_root_listing_names_locations_and_reference_indexes(client):
    page = client.get("/output/").body.decode()
    assert "Home/" in page and "tmap-f3/" in page
    assert client.get("/output").status == 301
    library = client.get("/output/tmap-f3/").body.decode()
    assert "demo_hg/" in library
    fasta = client.get("/auth/output/tmap-f3/demo_hg/demo_hg.fasta", headers={"Range": "bytes=0-6"})
    assert fasta.status == 206 and fasta.body.startswith(b">chr1\n") and len(fasta.body) == 7
    assert client.get("/output/tmap-f3/../Home/").status == 404


def _raw(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def served(app):
    with served_in_thread(app) as url:
        yield int(url.rsplit(":", 1)[1])


def test_over_http_encoded_slashes_and_dots_stay_inside(app, served, report):
    link, folder = report
    headers = admin_headers(app)
    assert _raw(served, link + "ion_params_00.json", headers)[0] == 200
    for attempt in ("..%2F..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                    "sub%20dir%2Fa%3Cb%3E.txt", "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"):
        status, body = _raw(served, link + attempt, headers)
        assert status == 404 and b"root:" not in body, attempt
    status, body = _raw(served, link + "data.bin", {**headers, "Range": "bytes=1048570-"})
    assert status == 206 and body == (bytes(range(256)) * 4096)[-6:]
    assert _raw(served, "/output/../../etc/passwd", headers)[0] in (400, 404)


def test_large_files_are_streamed_in_chunks(app, report):
    """The body comes from the file a chunk at a time; the whole file is never one bytes object."""
    from io import BytesIO

    from torrentlite.web.output import CHUNK

    link, folder = report
    with open(folder / "big.bam", "wb") as handle:
        handle.truncate(5 * CHUNK + 123)  # sparse: large on the wire, nothing on disk
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": link + "big.bam", "QUERY_STRING": "", "SERVER_NAME": "t",
               "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "wsgi.input": BytesIO(), "wsgi.url_scheme": "http",
               "wsgi.errors": BytesIO(), "SERVER_PROTOCOL": "HTTP/1.1"}
    seen = {}
    body = app.wsgi(environ, lambda status, headers, exc=None: seen.update(status=status, headers=dict(headers)))
    chunks = [len(chunk) for chunk in body]
    getattr(body, "close", lambda: None)()
    assert seen["status"].startswith("200") and seen["headers"]["Content-Length"] == str(5 * CHUNK + 123)
    assert sum(chunks) == 5 * CHUNK + 123 and len(chunks) == 6 and max(chunks) == CHUNK


def test_loopback_trust_does_not_reach_other_sites_pages(app, report):
    link, _folder = report
    local = Client(app, remote_addr="127.0.0.1")
    assert local.get(link + "ion_params_00.json").status == 200
    foreign = local.get(link + "ion_params_00.json", headers={"Sec-Fetch-Site": "cross-site"})
    assert foreign.status == 401 and not _challenges(foreign)
    assert _challenges(Client(app).get(link))


def _challenges(response) -> list:
    return [name for name in response.headers if name.lower() == "www-authenticate"]
