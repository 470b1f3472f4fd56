"""Endpoints plugins and their scripts call, answered as the real server answers them."""
from __future__ import annotations

import threading
import uuid
from importlib import resources
from pathlib import Path

import pytest
import waitress

from conftest import free_port
from runplugins import job_rows, scheduler_for
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


@pytest.fixture
def served(app):
    port = free_port()
    app.settings["trust_loopback"] = False
    app.api.auth.trust_loopback = False
    server = waitress.create_server(app.wsgi, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(5)


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
