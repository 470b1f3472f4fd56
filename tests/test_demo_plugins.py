"""The demo plugins: installed with the demo, run on every demo report through the scheduler, output served."""
from __future__ import annotations

import importlib.util
import io
import json
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import Client, admin_headers, serve_demo, served_in_thread
from runplugins import job_rows, scheduler_for
from torrentlite.setup_data import DEMO_PLUGINS, install_demo_plugins

API = "/rundb/api/v1"
PLUGINS = ("AmpliconCoverage", "ExportReport", "QualityGate", "RunSummary")


@pytest.fixture
def installed(app):
    """A demo app with the demo plugins installed, as `--demo` installs them."""
    install_demo_plugins(app.store, app.settings)
    return app


@pytest.fixture
def client(installed):
    return Client(installed, admin_headers(installed))


@pytest.fixture
def served(installed):
    """The demo app on a real port, loopback trust off: plugins reach the API with their own keys only."""
    app = installed
    app.settings["trust_loopback"] = False
    app.api.auth.trust_loopback = False
    with served_in_thread(app) as url:
        yield app, scheduler_for(app, web_root=url, trust_loopback=False, plugin_slots=2), url


def _get(url: str, headers=None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, response.read(), dict(response.headers)


def _entries(client, pk) -> dict:
    return {entry["Name"]: entry for entry in client.get(f"{API}/results/{pk}/pluginresults/").json()}


def test_demo_installs_the_plugins_its_plans_select(client):
    reader = client
    plugins = {p["name"]: p for p in reader.get(f"{API}/plugin/").json()["objects"]}
    assert set(PLUGINS) <= set(plugins)
    assert plugins["ExportReport"]["pluginsettings"]["runlevels"] == ["last"]
    assert plugins["ExportReport"]["pluginsettings"]["features"] == ["export"]
    quality = plugins["QualityGate"]
    assert quality["isConfig"] and quality["isPlanConfig"] and quality["isInstance"] and quality["hasAbout"]
    selected = set()
    for eas in reader.get(f"{API}/experimentanalysissettings/?status=run").json()["objects"]:
        selected |= set(eas["selectedPlugins"])
    assert selected == set(PLUGINS)


def test_every_demo_plugin_completes_on_every_demo_report(served):
    app, sched, base = served
    client = Client(app, admin_headers(app))
    results = [r["id"] for r in client.get(f"{API}/results/").json()["objects"]]
    for pk in results:
        sched.launch_pipeline(pk)
    assert sched.run_until_idle(180)
    failed = [row for row in job_rows(app.store) if row["state"] != "Completed"]
    assert not failed, failed
    headers = admin_headers(app)
    for pk in results:
        result = client.get(f"{API}/results/{pk}/").json()
        entries = _entries(client, pk)
        barcoded = bool(client.get(result["eas"]).json()["barcodeKitName"])
        assert set(entries) == set(PLUGINS if barcoded else set(PLUGINS) - {"AmpliconCoverage"})
        lib = client.get(f"{API}/libmetrics/?report={pk}").json()["objects"][0]
        for name, entry in entries.items():
            assert entry["State"] == "Completed"
            store = client.get(f"{API}/pluginresult/{entry['id']}/").json()["store"]
            status, block, info = _get(base + entry["URL"] + f"{name}_block.html", headers)
            assert status == 200 and info["Content-Type"].startswith("text/html")
            log = _get(base + entry["URL"] + "drmaa_stdout.txt", headers)[1].decode()
            assert "warning" not in log.lower(), log[-2000:]
            if name == "RunSummary":
                assert store["source"] == "BAM files"
                assert store["total_reads"] == sum(store["reads_per_barcode"].values())
                # Reads that matched no barcode are counted by the pipeline, not listed per barcode.
                assert store["total_reads"] == lib["totalNumReads"] if not barcoded else \
                    0 < lib["totalNumReads"] - store["total_reads"] < 100
                assert block.count(b"<svg") == 2
            elif name == "AmpliconCoverage":
                assert store["amplicons"] == 24 and len(store["barcodes"]) == 4
                assert all(b["mean_depth"] > 10 and 0 < b["uniformity"] <= 100 for b in store["barcodes"].values())
                assert b"<svg" in block and b"IonXpress_004" in block
                csv_text = _get(base + entry["URL"] + "IonXpress_001.amplicon_coverage.csv", headers)[1].decode()
                assert csv_text.startswith("amplicon,contig,start,end,reads,mean_depth") and "AMP_1_1" in csv_text
            elif name == "QualityGate":
                assert store["verdict"] == "pass" and len(store["checks"]) == 4
                assert store["metrics"]["reads"] == lib["totalNumReads"]
            elif name == "ExportReport":
                assert store["progress"] == 100
                zipped = _get(base + entry["URL"] + store["zip"], headers)[1]
                names = zipfile.ZipFile(io.BytesIO(zipped)).namelist()
                assert "ion_params_00.json" in names and any(n.endswith("rawlib.bam") for n in names)
                assert any(n.startswith("plugin_out/RunSummary_out.") for n in names)
                assert not any(n.startswith("plugin_out/ExportReport_out.") for n in names)
                # The job reported its progress through the API before it finished.
                assert "progress update failed" not in log


def test_quality_gate_thresholds_from_the_launch_win(served):
    app, sched, base = served
    client = Client(app, admin_headers(app))
    launched = client.post(f"{API}/results/1/plugin/",
                           json_body={"plugin": "QualityGate", "pluginconfig": {"min_reads": 10 ** 9}})
    assert launched.status == 202
    assert sched.run_until_idle(60)
    entry = _entries(client, 1)["QualityGate"]
    store = client.get(f"{API}/pluginresult/{entry['id']}/").json()["store"]
    assert store["verdict"] == "fail"
    assert [c["passed"] for c in store["checks"]] == [False, True, True, True]


def test_quality_gate_extend_function(client):
    reader = client
    verdict = reader.get(f"{API}/plugin/QualityGate/extend/check/",
                         params={"reads": 5000, "mean_length": 150, "q20_percent": 80, "loading": 85}).json()
    assert verdict["verdict"] == "pass"
    low = reader.get(f"{API}/plugin/QualityGate/extend/check/",
                     params={"reads": 5000, "mean_length": 150, "q20_percent": 80, "loading": 85,
                             "min_loading": 90}).json()
    assert low["verdict"] == "fail" and low["checks"][3]["threshold"] == 90
    assert reader.get(f"{API}/plugin/QualityGate/extend/defaults/").json()["min_reads"] == 1000


@pytest.mark.parametrize("page", ["config", "plan", "report", "about"])
def test_quality_gate_pages_get_their_globals(client, page):
    reader = client
    pk = next(p["id"] for p in reader.get(f"{API}/plugin/").json()["objects"] if p["name"] == "QualityGate")
    response = reader.get(f"/configure/plugins/plugin/{pk}/configure/{page}/?report=1")
    text = response.body.decode()
    assert response.status == 200 and "var TB_plugin" in text and "pluginMedia/qualitygate.js" in text
    media = reader.get(f"/configure/plugins/plugin/{pk}/configure/{page}/pluginMedia/qualitygate.js")
    assert media.status == 200 and b"QG_FIELDS" in media.body


def _load_plugin_module(name: str):
    pluginlib = str(Path(__import__("torrentlite").__file__).parent / "pluginlib")
    if pluginlib not in sys.path:
        sys.path.insert(0, pluginlib)
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMO_PLUGINS / name / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the package
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


def test_run_summary_counts_the_same_without_pysam(shared_app):
    """Where pysam is missing, RunSummary reads the pipeline's ionstats file and gets the same histogram."""
    from torrentlite.runner.startplugin import build_barcodes, load_report

    module = _load_plugin_module("RunSummary")
    for pk in (1, 2, 3):
        rep = load_report(shared_app.store, pk)
        barcodes = build_barcodes(shared_app.store, rep)
        runinfo = {"basecaller_dir": str(Path(rep.dir) / "basecaller_results")}
        from_bams, per_barcode, _source = module.count_reads(barcodes, runinfo)
        from_stats, per_barcode_stats, source = module.from_ionstats(barcodes, runinfo["basecaller_dir"])
        assert per_barcode == per_barcode_stats and source == "ionstats_basecaller.json"
        nomatch = Path(rep.dir, "basecaller_results", "nomatch_rawlib.basecaller.bam")
        if not nomatch.exists():  # barcoded runs: ionstats also counts the unmatched reads
            assert from_bams == from_stats


def test_every_demo_plugin_is_documented_python_3(tmp_path):
    for name in PLUGINS:
        source = (DEMO_PLUGINS / name / f"{name}.py").read_text()
        assert source.startswith("#!/usr/bin/env python3\n") and f"class {name}(IonPlugin):" in source
        assert json.dumps(source)  # plain text


def test_first_start_queues_the_plan_selected_plugins(installed):
    from torrentlite.setup_data import launch_demo_plugins

    app = installed
    assert launch_demo_plugins(app.store, app.scheduler) == 10
    jobs = job_rows(app.store)
    assert len(jobs) == 10 and {job["state"] for job in jobs} == {"Queued"}
    assert sorted(job["level"] for job in jobs).count("last") == 3


@pytest.mark.slow
def test_serve_demo_runs_the_demo_plugins_at_first_start(tmp_path):
    """`serve --demo` on an empty folder: every report soon shows completed plugin results, served by /output."""
    with serve_demo(tmp_path / "first") as server:
        base, key = server.url, server.api_key
        headers = {"Authorization": f"ApiKey ionadmin:{key}"}
        deadline = time.monotonic() + 180
        while True:
            jobs = json.loads(_get(f"{base}{API}/PluginResultJob/?limit=0", headers)[1])["objects"]
            if len(jobs) == 10 and all(job["state"] == "Completed" for job in jobs):
                break
            assert time.monotonic() < deadline, [(job["id"], job["state"]) for job in jobs]
            assert all(job["state"] in ("Queued", "Started", "Completed") for job in jobs), jobs
            time.sleep(0.5)
        for pk in (1, 2, 3):
            entries = json.loads(_get(f"{base}{API}/results/{pk}/pluginresults/", headers)[1])
            for entry in entries:
                status, block, _info = _get(base + entry["URL"] + f"{entry['Name']}_block.html", headers)
                assert status == 200 and block


def test_quality_gate_page_in_a_browser_calls_its_extend_function(live_server, tmp_path):
    from test_plugin_manager import run_cli
    from test_plugin_pages_browser import CHROMIUM, dump_dom

    if CHROMIUM is None and not __import__("os").environ.get("TORRENTLITE_REQUIRE_BROWSER"):
        pytest.skip("no Chromium on this machine")
    run_cli(live_server.data_dir, "install", str(DEMO_PLUGINS / "QualityGate"))
    pk = next(line.split()[0] for line in run_cli(live_server.data_dir, "list").stdout.splitlines()
              if "QualityGate" in line.split())
    url = (f"{live_server.url}/configure/plugins/plugin/{pk}/configure/report/"
           f"?report=2&username=ionadmin&api_key={live_server.api_key}")
    dom = dump_dom(url, tmp_path / "profile")
    assert "AmpliSeq_CHP2_4plex" in dom  # TB_result_json
    assert 'id="min_reads" type="number" min="0" placeholder="1000"' in dom  # from extend.py defaults()


def test_run_pipeline_runs_them_again_without_a_server(installed):
    """Standalone, run-pipeline serves the API to its jobs itself: QualityGate reads metrics through it."""
    import os
    import subprocess

    from conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "torrentlite", "run-pipeline", "3", "--data-dir",
                           str(installed.settings.data_path), "--plugin-memory-floor-mb", "0"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    finished = {line.split("\t")[0]: line.split("\t")[2] for line in done.stdout.splitlines() if "\t" in line}
    assert finished == {"RunSummary": "Completed", "QualityGate": "Completed", "ExportReport": "Completed"}
