"""`torrentlite dm` commands, automatic actions, and actions run by a live server's worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dm_helpers import populate

from torrentlite.datamgmt import actions, auto
from torrentlite.datamgmt.filesets import INTR

REPO = Path(__file__).resolve().parent.parent
DM = "/rundb/api/v1/compositedatamanagement/"


def _cli(data_dir, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "torrentlite", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_archive_runs_inline_with_a_progress_bar_and_lists_states(app, tmp_path):
    report_dir, _raw = populate(app, 1, size=200_000)
    data_dir = app.settings.data_path
    app.store.close()
    done = _cli(data_dir, "dm", "archive", "1", "--category", "misc", "--dest", str(tmp_path), "--comment", "cli")
    assert done.returncode == 0, done.stderr
    assert "100.0%" in done.stderr and "archive finished to" in done.stdout
    assert (tmp_path / "archivedReports" / report_dir.name / "log.html").is_file()
    listed = _cli(data_dir, "dm", "list", "1")
    assert listed.returncode == 0 and "misc=Archived" in listed.stdout and "output=Local" in listed.stdout
    # Deleting archived files deletes the archive copy; a second delete is refused.
    assert _cli(data_dir, "dm", "delete", "1", "--category", "misc").returncode == 0
    assert not (tmp_path / "archivedReports" / report_dir.name / "log.html").exists()
    refused = _cli(data_dir, "dm", "delete", "1", "--category", "misc")
    assert refused.returncode == 2 and "torrentlite: The Intermediate Files for" in refused.stderr
    bad = _cli(data_dir, "dm", "export", "1", "--category", "bogus", "--dest", str(tmp_path))
    assert bad.returncode == 2 and "Unknown category" in bad.stderr and "Traceback" not in bad.stderr
    keep = _cli(data_dir, "dm", "keep", "1", "--category", "output")
    assert keep.returncode == 0
    kept = _cli(data_dir, "dm", "delete", "1", "--category", "output")
    assert kept.returncode == 2 and "marked as Keep" in kept.stderr


def test_automatic_delete_over_a_small_usage_threshold(app, client):
    report_dir, _raw = populate(app, 1)
    auto.configure(app.store, INTR, auto_action="DEL", age=0, usage=50)
    # The partition is "full" only when the fake usage says so.
    assert auto.plan(app.store, usage=lambda path: 10.0) == []
    planned = auto.plan(app.store, usage=lambda path: 60.0)
    assert [(p.type, p.action) for p in planned] == [(INTR, "delete")]
    auto.set_enabled(app.store, False)
    assert auto.apply(app.store, usage=lambda path: 60.0) == []  # the global switch is off
    auto.set_enabled(app.store, True)
    queued = auto.apply(app.store, usage=lambda path: 60.0)
    assert len(queued) == 1 and queued[0].username == "dm_agent" and queued[0].comment == "Auto Action"
    actions.run_pending(app.store)
    pk = queued[0].result_id
    assert client.get(f"{DM}{pk}/").json()["misc_state"] == "Deleted"


def test_automatic_rules_skip_kept_and_young_reports(app, client):
    auto.configure(app.store, INTR, auto_action="DEL", age=100000 // 10, usage=0)
    assert auto.plan(app.store, usage=lambda path: 99.0) == []  # demo reports are younger than 10000 days
    auto.configure(app.store, INTR, age=0)
    picked = auto.plan(app.store, usage=lambda path: 99.0)[0].result_id
    assert client.post(f"{DM}{picked}/keep/", json_body={"categories": ["misc"], "keep": True}).status == 200
    assert all(p.result_id != picked for p in auto.plan(app.store, usage=lambda path: 99.0))


def test_configuration_endpoint_and_dry_run(client, tmp_path):
    response = client.post(f"{DM}configuration/", json_body={"filesets": {"misc": {"auto_trigger_usage": 500}}})
    assert response.status == 400 and "0 to 100" in response.json()["error"]
    response = client.post(f"{DM}configuration/", json_body={
        "filesets": {"output": {"auto_action": "ARC", "auto_trigger_age": 0, "backup_directory": str(tmp_path)}},
        "auto_archive_enable": "false"})
    assert response.status == 200
    body = response.json()
    assert body["filesets"]["output"]["auto_action"] == "ARC" and body["filesets"]["misc"]["auto_trigger_age"] == 7
    dry = client.get(f"{DM}auto/").json()
    assert dry["enabled"] is False and dry["objects"][0]["action"] == "archive"


def test_cli_auto_dry_run(app):
    auto.configure(app.store, INTR, auto_action="DEL", age=0, usage=0)
    data_dir = app.settings.data_path
    app.store.close()
    out = _cli(data_dir, "dm", "auto", "--dry-run")
    assert out.returncode == 0 and out.stdout.startswith("delete\tIntermediate Files\t")
    assert _cli(data_dir, "dm", "config", "--disable").returncode == 0
    assert _cli(data_dir, "dm", "auto").returncode == 2  # disabled


def _call(server, method, path, body=None):
    request = urllib.request.Request(server.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"ApiKey ionadmin:{server.api_key}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read() or b"null")


def test_live_server_worker_archives_in_the_background(live_server, tmp_path):
    status, _ = _call(live_server, "POST", f"{DM}1/archive/", {"categories": ["output"],
                                                               "backup_dir": str(tmp_path)})
    assert status == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, obj = _call(live_server, "GET", f"{DM}1/")
        if obj["output_state"] in ("Archived", "Error"):
            break
        time.sleep(0.2)
    assert obj["output_state"] == "Archived"
    # A CLI action beside the running server is queued for it and waited for.
    out = _cli(live_server.data_dir, "dm", "export", "1", "--category", "basecall", "--dest", str(tmp_path))
    assert out.returncode == 0 and "waiting for it" in out.stdout and "export finished" in out.stdout


def test_raw_data_is_deleted_automatically_only_after_acknowledgement(app, client):
    from torrentlite.datamgmt.filesets import SIG

    populate(app, 1)
    auto.set_enabled(app.store, True, auto_ack=False)
    auto.configure(app.store, SIG, auto_action="DEL", age=0, usage=50)
    assert auto.apply(app.store, usage=lambda path: 80.0) == []
    selected = [o for o in client.get(DM, params={"sigproc_filter": "S"}).json()["objects"]]
    assert selected and all(o["sigproc_state"] == "Selected" for o in selected)
    pk = selected[0]["id"]
    history = client.get("/rundb/api/v1/datamanagementhistory/", params={"object_pk": pk}).json()["objects"]
    assert any(o["text"] == "Signal Processing Input Selected for Deletion" and o["username"] == "dm_agent"
               for o in history)
    assert client.post(f"{DM}{pk}/ack/", json_body={"runstate": "A"}).status == 200
    queued = auto.apply(app.store, usage=lambda path: 80.0)
    assert [(q.result_id, q.action) for q in queued] == [(pk, "delete")]
    actions.run_pending(app.store)
    assert client.get(f"{DM}{pk}/").json()["sigproc_state"] == "Deleted"
    assert client.post(f"{DM}{pk}/ack/", json_body={"runstate": "X"}).status == 400
