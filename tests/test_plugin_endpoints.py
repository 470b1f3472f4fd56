"""Endpoints plugins and their scripts call, answered as the real server answers them."""
from __future__ import annotations

import uuid
from importlib import resources
from pathlib import Path

import pytest

from runplugins import job_rows, scheduler_for
from served import served  # noqa: F401  (a fixture)
from torrentlite.runner.manager import PluginManager
from torrentlite.runner.startplugin import build_barcodes, load_report

API = "/rundb/api/v1"
EXAMPLES = Path(str(resources.files("torrentlite").joinpath("data/example_plugins")))


def test_barcodesampleinfo_is_the_barcodes_json_data(app, client):
    barcoded = client.get(f"{API}/results/2/barcodesampleinfo/")
    assert barcoded.status == 200
    assert barcoded.json() == build_barcodes(app.store, load_report(app.store, 2))
    assert {"IonXpress_001", "IonXpress_004"} <= set(barcoded.json())
    assert set(client.get(f"{API}/results/1/barcodesampleinfo/").json()) == {"nonbarcoded"}
    assert client.get(f"{API}/results/999/barcodesampleinfo/").status == 404


def test_system_id_is_this_servers_uuid(app, client, anonymous):
    first = client.get(f"{API}/ionmeshnode/system_id/").json()
    assert str(uuid.UUID(first["system_id"])) == first["system_id"] and first["hostname"]
    assert client.get(f"{API}/ionmeshnode/system_id/").json() == first
    assert (app.settings.data_path / "system_id").stat().st_mode & 0o077 == 0
    assert anonymous.get(f"{API}/ionmeshnode/system_id/").status == 401


def test_compositeexperiment_links_follow_the_prefix_asked(client):
    v1 = client.get(f"{API}/compositeexperiment/", params={"limit": 1}).json()
    assert v1["objects"][0]["resource_uri"].startswith(f"{API}/compositeexperiment/")
    assert v1["meta"]["next"].startswith(f"{API}/compositeexperiment/")
    mesh = client.get("/rundb/api/mesh/v1/compositeexperiment/", params={"limit": 1}).json()
    assert mesh["objects"][0]["resource_uri"].startswith("/rundb/api/mesh/v1/compositeexperiment/")
    assert mesh["meta"]["next"].startswith("/rundb/api/mesh/v1/compositeexperiment/")
    # Nested reports are compositeresult objects: v1 under both prefixes.
    nested = [r["resource_uri"] for r in mesh["objects"][0]["results"]]
    assert nested and all(uri.startswith(f"{API}/compositeresult/") for uri in nested)
    assert client.get(f"{API}/").json()["compositeexperiment"]["list_endpoint"] == f"{API}/compositeexperiment/"




def test_rest_api_example_authenticates_with_its_plugin_key(app, served):
    PluginManager(app.store, app.settings.plugins_path).install_dir(EXAMPLES / "RestApiExample")
    sched = scheduler_for(app, web_root=served, trust_loopback=False)
    [out] = sched.launch(1, ["RestApiExample"])
    assert sched.run_until_idle(60)
    log = Path(out["results_dir"], "drmaa_stdout.txt").read_text()
    assert job_rows(app.store, out["pluginresult"])[0]["state"] == "Completed", log[-2000:]
    name = app.store.db.execute_sql('SELECT "resultsName" FROM "results" WHERE id = 1').fetchone()[0]
    html = Path(out["results_dir"], "RestApiExample_block.html").read_text()
    assert f"Result name: {name}" in html and "Status: " in html


SECURE = "/security/api/v1/securestring/"


def test_securestring_stores_secrets_encrypted(app, client, anonymous):
    assert client.post(SECURE, json_body={"name": "ftp", "unencrypted": "s3cret"}).status == 201
    created = client.post(SECURE, json_body={"name": "ftp", "unencrypted": "n3w"})
    assert created.status == 201 and created.headers["Location"].startswith(SECURE)
    listing = client.get(SECURE, params={"name": "ftp"}).json()
    assert listing["meta"]["total_count"] == 1
    [obj] = listing["objects"]
    assert (obj["name"], obj["decrypted"], obj["resource_uri"]) == ("ftp", "n3w", f"{SECURE}{obj['id']}/")
    assert set(obj) == {"created", "decrypted", "id", "name", "resource_uri"}
    raw = app.store.db.execute_sql('SELECT encrypted_string FROM "torrentlite_securestring"').fetchone()[0]
    assert "n3w" not in raw and raw.startswith("gAAAA")            # a Fernet token, not the secret
    assert (app.settings.data_path / "secret.key").stat().st_mode & 0o077 == 0
    assert client.get(f"{SECURE}{obj['id']}/").json() == obj
    assert client.get(SECURE, params={"name__icontains": "FT"}).json()["meta"]["total_count"] == 1
    assert client.get(SECURE, params={"name": "other"}).json()["objects"] == []
    assert anonymous.get(SECURE).status == 401
    assert client.delete(f"{SECURE}{obj['id']}/").status == 204
    assert client.get(f"{SECURE}{obj['id']}/").status == 404


def test_securestring_bad_input_changes_nothing(client):
    for body in ({"name": "x"}, {"unencrypted": "y"}, {"name": "", "unencrypted": "y"}, [1], {"name": "x" * 200,
                                                                                           "unencrypted": "y"}):
        response = client.post(SECURE, json_body=body)
        assert response.status == 400 and "error" in response.json()
    assert client.get(SECURE).json()["objects"] == []
    assert client.get(f"{SECURE}abc/").status == 404


def test_plugins_read_secrets_with_their_key_but_cannot_write(app, client, tmp_path):
    from conftest import Client
    from runplugins import make_plugin, register_plugin
    client.post(SECURE, json_body={"name": "token", "unencrypted": "abc"})
    plugin_id = register_plugin(app.store, make_plugin(tmp_path / "plugins", tmp_path / "events", "Reader"))
    with app.store.write():
        app.store.db.execute_sql(
            'INSERT INTO "pluginresult" (size, inodes, store, validation_errors, result_id, owner_id, plugin_id, '
            "apikey) VALUES (-1, -1, '{}', '{}', 1, 1, ?, ?)", (plugin_id, "k" * 40))
    pr = app.store.db.execute_sql('SELECT id FROM "pluginresult" WHERE apikey = ?', ("k" * 40,)).fetchone()[0]
    plugin = Client(app, {"Authorization": f"PluginKey {pr}:{'k' * 40}"})
    assert [o["decrypted"] for o in plugin.get(SECURE).json()["objects"]] == ["abc"]
    assert plugin.post(SECURE, json_body={"name": "x", "unencrypted": "y"}).status == 401


def _pdf_is_well_formed(body: bytes) -> str:
    """Check the header, xref offsets and trailer of a PDF; return its page content text."""
    import re as _re
    assert body.startswith(b"%PDF-1.") and body.rstrip().endswith(b"%%EOF")
    start = int(body[body.rindex(b"startxref") + 9:].split()[0])
    assert body[start:start + 4] == b"xref"
    count = int(body[start:].split(b"\n")[1].split()[1])
    entries = body[start:].split(b"\n")[3:3 + count - 1]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry.split()[0])
        assert body[offset:].startswith(b"%d 0 obj" % number)
    return " ".join(m.decode("latin-1") for m in _re.findall(rb"\((.*?)\) Tj", body))


def test_report_pdf_has_the_reports_facts_and_metrics(app, client, anonymous):
    response = client.get(f"{API}/results/1/report/")
    assert response.status == 200 and response.headers["Content-Type"] == "application/pdf"
    text = _pdf_is_well_formed(response.body)
    name, reads = app.store.db.execute_sql(
        'SELECT r."resultsName", q.q0_reads FROM "results" r JOIN "qualitymetrics" q ON q.report_id = r.id '
        'WHERE r.id = 1').fetchone()
    assert f"Report: {name}" in text and "Unaligned reads" in text and f"Total reads {int(reads)}" in text
    assert client.get(f"{API}/results/999/report/").status == 404
    assert anonymous.get(f"{API}/results/1/report/").status == 401


def test_report_pdf_pages_long_reports():
    from torrentlite.api.pdf import text_pdf
    body = text_pdf("Many (rows) \\ here", [("Section %d" % i, [("label", "välue")] * 10) for i in range(20)])
    text = _pdf_is_well_formed(body)
    assert body.count(b"/Type /Page ") > 3 and "Many \\(rows\\) \\\\ here" in text
