"""What a plugin job sees (startplugin.json, barcodes.json, environment, the API with its key) and restarts."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import waitress

from conftest import REPO, free_port, wait_until_responds
from runplugins import PluginEnv, add_plugin, job_rows, scheduler_for
from test_executor_contract import gone, wait_for

RESULT, BARCODED = 1, 2

# The SDK's startplugin.json reference (v5.4), section by section.
SDK_RUNINFO = {"alignment_dir", "analysis_dir", "api_key", "api_url", "barcodeId", "basecaller_dir",
               "chipDescription", "chipType", "library", "library_key", "net_location", "pk", "platform", "plugin",
               "plugin_dir", "plugin_name", "pluginresult", "raw_data_dir", "report_root_dir", "results_dir",
               "sigproc_dir", "systemType", "testfrag_key", "tmap_version", "url_root", "username"}
SDK_PLUGIN = {"depends", "features", "hold_jid", "id", "name", "path", "pluginconfig", "pluginresult",
              "results_dir", "userInput", "version"}
SDK_RUNPLUGIN = {"block_dirs", "numBlocks", "run_mode", "run_type", "runlevel"}
SDK_EXPMETA = {"analysis_date", "barcodeId", "chipBarcode", "chiptype", "flowOrder", "instrument", "notes",
               "project", "results_name", "run_date", "run_flows", "run_name", "runid", "sample",
               "output_file_name_stem"}
SDK_PLAN = {"barcodeId", "barcodedSamples", "bedfile", "controlSequencekitname", "librarykitname", "planName",
            "regionfile", "reverse_primer", "runMode", "runType", "runTypeDescription", "sampleGrouping",
            "samplePrepKitName", "sampleTubeLabel", "sequencekitname", "templatingKitName", "threePrimeAdapter",
            "username"}
SDK_DM = {"Basecalling Input", "Intermediate Files", "Output Files", "Signal Processing Input"}
SDK_BARCODE = {"aligned", "bam_file", "bam_filepath", "barcode_adapter", "barcode_annotation", "barcode_description",
               "barcode_index", "barcode_name", "barcode_sequence", "barcode_type", "control_sequence_type",
               "filtered", "hotspot_filepath", "genome_urlpath", "nucleotide_type", "read_count", "reference",
               "reference_fullpath", "sample", "sample_id", "target_region_filepath"}
SDK_NONBARCODED = {"aligned", "bam_file", "bam_filepath", "control_sequence_type", "filtered", "hotspot_filepath",
                   "genome_urlpath", "nucleotide_type", "read_count", "reference", "reference_fullpath", "sample",
                   "sample_id", "target_region_filepath"}


@pytest.fixture
def env(app, tmp_path):
    e = PluginEnv(app, tmp_path)
    yield e
    e.sched.stop()


def test_startplugin_and_barcodes_have_the_sdk_keys(env):
    add_plugin(env.store, env.plugins, env.events, "Keys", "", depends=["Other"])
    out = {}
    for pk in (RESULT, BARCODED):
        [out[pk]] = env.sched.launch(pk, ["Keys"])
    assert env.sched.run_until_idle(20)
    sp = json.loads(Path(out[BARCODED]["results_dir"], "startplugin.json").read_text())
    assert {"runinfo", "runplugin", "expmeta", "chefSummary", "pluginconfig", "globalconfig", "plan",
            "sampleinfo", "datamanagement", "depends"} <= set(sp)
    assert SDK_RUNINFO <= set(sp["runinfo"])
    assert SDK_PLUGIN <= set(sp["runinfo"]["plugin"])
    assert SDK_RUNPLUGIN <= set(sp["runplugin"]) and SDK_EXPMETA <= set(sp["expmeta"])
    assert SDK_PLAN <= set(sp["plan"]) and set(sp["datamanagement"]) == SDK_DM
    assert sp["globalconfig"] == {"debug": 0, "MEM_MAX": "15G"}
    info = sp["runinfo"]
    assert info["pk"] == BARCODED and info["pluginresult"] == out[BARCODED]["pluginresult"]
    assert len(info["api_key"]) == 40 and info["api_url"] == info["net_location"] + "/rundb/api"
    assert info["results_dir"] == out[BARCODED]["results_dir"] and sp["runplugin"]["runlevel"] == "default"
    barcodes = json.loads(Path(out[BARCODED]["results_dir"], "barcodes.json").read_text())
    assert sorted(barcodes) == ["IonXpress_001", "IonXpress_002", "IonXpress_003", "IonXpress_004"]
    for entry in barcodes.values():
        assert SDK_BARCODE <= set(entry)
    assert barcodes["IonXpress_001"]["barcode_index"] == 1 and barcodes["IonXpress_001"]["sample"]
    plain = json.loads(Path(out[RESULT]["results_dir"], "barcodes.json").read_text())
    assert list(plain) == ["nonbarcoded"] and SDK_NONBARCODED <= set(plain["nonbarcoded"])


def test_wrapper_environment_is_visible_to_the_plugin(env):
    add_plugin(env.store, env.plugins, env.events, "Env", """
        keep = ("JOB_ID", "RUNINFO__PK", "RUNINFO__API_KEY", "RESULTS_DIR", "TSP_FILEPATH_PLUGIN_DIR", "PLUGINNAME",
                "PLUGINCONFIG__COLOUR", "RUNPLUGIN__RUNLEVEL", "TSP_RUN_NAME", "TMPDIR", "EXPMETA__RUN_NAME")
        json.dump({k: os.environ.get(k) for k in keep}, open("env.json", "w"))
    """)
    [out] = env.sched.launch(RESULT, ["Env"], pluginconfig={"colour": "blue"})
    assert env.sched.run_until_idle(20)
    seen = json.loads(Path(out["results_dir"], "env.json").read_text())
    assert seen["JOB_ID"] == str(out["jobs"][0]) and seen["RUNINFO__PK"] == str(RESULT)
    assert seen["RESULTS_DIR"] == seen["TSP_FILEPATH_PLUGIN_DIR"] == out["results_dir"]
    assert seen["PLUGINNAME"] == "Env" and seen["PLUGINCONFIG__COLOUR"] == "blue"
    assert seen["RUNPLUGIN__RUNLEVEL"] == "default" and seen["TSP_RUN_NAME"] == seen["EXPMETA__RUN_NAME"] != ""
    assert len(seen["RUNINFO__API_KEY"]) == 40 and seen["TMPDIR"]


def test_plugin_calls_the_api_with_its_own_key(app, tmp_path):
    port = free_port()
    server = waitress.create_server(app.wsgi, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        sched = scheduler_for(app, web_root=f"http://127.0.0.1:{port}", trust_loopback=False)
        add_plugin(app.store, tmp_path / "plugins", tmp_path / "events", "Caller", """
            import urllib.request
            info = self.startplugin["runinfo"]
            auth = "?pluginresult=%s&api_key=%s" % (info["pluginresult"], info["api_key"])
            url = info["api_url"] + "/v1/pluginresult/%s/" % info["pluginresult"]
            got = json.load(urllib.request.urlopen(url + auth))
            req = urllib.request.Request(url + auth, data=json.dumps({"store": {"seen": got["id"]}}).encode(),
                                         method="PATCH", headers={"Content-Type": "application/json"})
            status = urllib.request.urlopen(req).status
            bad = urllib.request.Request(url + "?pluginresult=%s&api_key=%s" % (info["pluginresult"], "0" * 40))
            try:
                urllib.request.urlopen(bad)
                denied = False
            except urllib.error.HTTPError as exc:
                denied = exc.code == 401
            json.dump({"get": got["id"], "patch": status, "denied": denied}, open("calls.json", "w"))
        """)
        app.settings["trust_loopback"] = False
        app.api.auth.trust_loopback = False
        [out] = sched.launch(RESULT, ["Caller"])
        assert sched.run_until_idle(30)
        calls = json.loads(Path(out["results_dir"], "calls.json").read_text())
        assert calls == {"get": out["pluginresult"], "patch": 202, "denied": True} or \
            calls == {"get": out["pluginresult"], "patch": 204, "denied": True}
        stored = app.store.db.execute_sql('SELECT store FROM "pluginresult" WHERE id = ?',
                                          (out["pluginresult"],)).fetchone()[0]
        assert json.loads(stored) == {"seen": out["pluginresult"]}
        assert job_rows(app.store, out["pluginresult"])[0]["state"] == "Completed"
    finally:
        server.close()
        thread.join(5)


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--port", str(port), "--data-dir",
                             str(data_dir), "--plugin-slots", "2", "--plugin-memory-floor-mb", "0", "--threads", "4"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def _post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status


def test_kill_9_of_the_server_then_restart_reconciles_states(app, tmp_path):
    data_dir = Path(app.settings["data_dir"])
    body = """
        open("pid", "w").write("%d %d" % (os.getpid(), os.getpgid(0)))
        time.sleep(60)
    """
    for name in ("Survivor", "Victim", "Waiter"):
        add_plugin(app.store, tmp_path / "plugins", tmp_path / "events", name, body)
    app.close()
    port = free_port()
    api = f"http://127.0.0.1:{port}/rundb/api/v1"
    proc = _serve(data_dir, port)
    procs = [proc]
    try:
        wait_until_responds(f"{api}/", proc=proc)
        for name in ("Survivor", "Victim", "Waiter"):
            assert _post(f"{api}/results/{RESULT}/plugin/", {"plugin": name}) == 202

        def states():
            return {e["Name"]: e for e in _get(f"{api}/results/{RESULT}/pluginresults/")}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = states()
            if all(Path(now[n]["Path"], "pid").exists() for n in ("Survivor", "Victim")):
                break
            time.sleep(0.1)
        assert now["Waiter"]["State"] == "Queued"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        victim_pid, victim_group = map(int, Path(now["Victim"]["Path"], "pid").read_text().split())
        os.killpg(victim_group, signal.SIGKILL)
        wait_for(lambda: gone(victim_pid))
        proc = _serve(data_dir, port)
        procs.append(proc)
        wait_until_responds(f"{api}/", proc=proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            after = states()
            if after["Victim"]["State"] != "Started" and after["Waiter"]["State"] == "Started":
                break
            time.sleep(0.1)
        assert after["Survivor"]["State"] == "Started"
        assert after["Victim"]["State"] == "Error"
        assert after["Waiter"]["State"] == "Started"
        for name in ("Survivor", "Waiter"):
            with urllib.request.urlopen(f"{api}/pluginresult/{after[name]['id']}/stop/", timeout=30) as resp:
                assert resp.status == 204
        final = states()
        assert final["Survivor"]["State"] == final["Waiter"]["State"] == "Cancelled"
        survivor_pid = int(Path(final["Survivor"]["Path"], "pid").read_text().split()[0])
        wait_for(lambda: gone(survivor_pid))
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
