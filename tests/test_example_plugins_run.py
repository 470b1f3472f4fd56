"""The SDK's example plugins, installed from the package and run on the demo reports."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from torrentlite.runner.manager import PluginManager

API = "/rundb/api/v1"
EXAMPLES = Path(str(resources.files("torrentlite").joinpath("data/example_plugins")))
OFFLINE = ("LogParser", "CallSubprocessExample", "BarcodesExample", "ProgressExample")


@pytest.fixture
def installed(app):
    manager = PluginManager(app.store, app.settings.plugins_path)
    for name in OFFLINE:
        manager.install_dir(EXAMPLES / name)
    app.scheduler.settings["plugin_memory_floor_mb"] = 0
    yield app
    app.scheduler.stop()


@pytest.mark.parametrize("result_pk", [1, 2])
def test_examples_complete_on_demo_reports(installed, client, result_pk):
    for name in OFFLINE:
        response = client.post(f"{API}/results/{result_pk}/plugin/", json_body={"plugin": name})
        assert response.status == 202, response.body
    assert installed.scheduler.run_until_idle(timeout=60)
    listing = client.get(f"{API}/results/{result_pk}/pluginresults/").json()
    states = {entry["Name"]: entry["State"] for entry in listing}
    logs = {entry["Name"]: Path(entry["Path"], "drmaa_stdout.txt").read_text() for entry in listing}
    assert states == {name: "Completed" for name in OFFLINE}, {n: logs[n][-1500:] for n in logs
                                                               if states[n] != "Completed"}
    for entry in listing:
        if entry["Name"] in ("LogParser", "ProgressExample"):
            assert entry["Files"], f"{entry['Name']} wrote no html output"
    if result_pk == 2:  # the barcoded demo run: the example logs every barcode of barcodes.json
        for barcode in ("IonXpress_001", "IonXpress_004"):
            assert barcode in logs["BarcodesExample"]


def test_jobs_show_their_resource_use(installed, client):
    assert client.post(f"{API}/results/1/plugin/", json_body={"plugin": "LogParser"}).status == 202
    assert installed.scheduler.run_until_idle(timeout=60)
    [job] = client.get(f"{API}/PluginResultJob/").json()["objects"]
    assert job["state"] == "Completed" and job["reason"] == "plugin completed"
    usage = job["usage"]
    assert usage["wall_seconds"] > 0 and usage["cpu_seconds"] > 0 and usage["peak_rss_bytes"] > 1_000_000
