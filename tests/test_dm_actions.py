"""Archive, export, delete and keep: files moved, states and history, refusals, crash and restart."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dm_helpers import REPORT_FILES, categories, populate

from torrentlite.datamgmt import actions, state
from torrentlite.datamgmt.filesets import BASE, INTR, OUT

API = "/rundb/api/v1/"
DM = f"{API}compositedatamanagement/"
REPO = Path(__file__).resolve().parent.parent


def _history(client, result_id=1):
    body = client.get(f"{API}datamanagementhistory/", params={"object_pk": result_id, "order_by": "id",
                                                               "limit": 0}).json()
    return [(o["username"], o["text"]) for o in body["objects"]]


# Output files that archiving/deleting the output category leaves while basecalling input is local
# (the output category's keep-with list; sigproc.log is not on it, so it goes).
KEPT_FOR_BASE = {"sigproc_results/analysis.bfmask.stats", "sigproc_results/Bead_density_raw.png"}


def _in(category):
    return [rel for rel, cats in REPORT_FILES.items() if category in categories(cats)]


def test_archive_moves_the_files_and_the_report_still_opens(app, client, tmp_path):
    report_dir, _raw = populate(app, 1)
    backup = tmp_path / "archive"
    backup.mkdir()
    response = client.post(f"{DM}1/archive/", json_body={"categories": ["output"], "comment": "space",
                                                          "backup_dir": str(backup)})
    assert response.status == 202, response.body
    assert client.get(f"{DM}1/").json()["output_state"] == "Archive Pending"
    assert actions.run_pending(app.store) == 1
    target = backup / "archivedReports" / report_dir.name
    for rel in _in(OUT):
        assert (target / rel).is_file(), rel
        # Files shared with basecalling input stay while that category is local.
        assert (report_dir / rel).exists() == (rel in KEPT_FOR_BASE), rel
    assert (report_dir / "report.pdf").is_file() and (report_dir / "log.html").is_file()
    assert not list(target.rglob("*.tlpart"))
    assert (target / f"serialized_{client.get(f'{API}results/1/').json()['resultsName']}.json").is_file()
    obj = client.get(f"{DM}1/").json()
    assert obj["output_state"] == "Archived" and obj["output_keep"] is None and obj["in_process"] is False
    assert client.get(f"{API}results/1/").status == 200
    texts = [t for _u, t in _history(client)]
    assert "Archive Pending for Output Files to %s.<br>User Comment: space" % backup in texts
    assert any(t.startswith("Archiving Output Files - ") for t in texts)
    assert any(t.endswith(f"MB Output Files archived to {target}.<br>User Comment: space") for t in texts)
    assert ("ionadmin", texts[-1]) in _history(client)
    progress = client.get(f"{DM}1/actions/").json()["objects"][0]
    assert progress["phase"] == "done" and progress["percent"] == 100.0


def test_export_copies_and_stays_local(app, client, tmp_path):
    report_dir, _raw = populate(app, 1)
    response = client.post(f"{DM}1/export/", json_body={"categories": ["basecall"], "backup_dir": str(tmp_path)})
    assert response.status == 202, response.body
    actions.run_pending(app.store)
    for rel in _in(BASE):
        assert (report_dir / rel).is_file() and (tmp_path / "exportedReports" / report_dir.name / rel).is_file()
    obj = client.get(f"{DM}1/").json()
    assert obj["basecall_state"] == "Local"
    assert any("Basecalling Input exported to" in t for _u, t in _history(client))


def test_delete_removes_only_the_category(app, client):
    report_dir, _raw = populate(app, 1)
    assert client.post(f"{DM}1/delete/", json_body={"categories": ["misc"]}).status == 202
    actions.run_pending(app.store)
    for rel, cats in REPORT_FILES.items():
        assert (report_dir / rel).exists() == (cats != INTR), rel
    assert not (report_dir / "block_X0_Y0").exists()
    assert client.get(f"{DM}1/").json()["misc_state"] == "Deleted"
    refused = client.post(f"{DM}1/delete/", json_body={"categories": ["misc"]})
    assert refused.status == 409 and "are deleted" in refused.json()["error"]


def test_keep_refuses_delete_and_asks_before_archive(app, client, tmp_path):
    populate(app, 1)
    assert client.post(f"{DM}1/keep/", json_body={"categories": ["output"], "keep": True}).status == 200
    assert client.get(f"{DM}1/").json()["output_keep"] is True
    before = _history(client)
    refused = client.post(f"{DM}1/delete/", json_body={"categories": ["output", "misc"]})
    assert refused.status == 409
    assert refused.json()["error"] == "Unable to delete files: Output Files currently marked as Keep."
    assert _history(client) == before and client.get(f"{DM}1/").json()["misc_state"] == "Local"
    warned = client.post(f"{DM}1/archive/", json_body={"categories": ["output"], "backup_dir": str(tmp_path)})
    assert warned.status == 200 and warned.json() == {"warning": "Output Files currently marked Keep."}
    confirmed = client.post(f"{DM}1/archive/", json_body={"categories": ["output"], "backup_dir": str(tmp_path),
                                                          "confirmed": True})
    assert confirmed.status == 202
    assert "Output Files no longer exempt from auto-action" in [t for _u, t in _history(client)]


def test_in_use_and_bad_requests_are_refused_and_change_nothing(app, client, tmp_path):
    report_dir, _raw = populate(app, 1)
    cases = [
        ({"categories": ["nonsense"], "backup_dir": str(tmp_path)}, 400, "Unknown category"),
        ({"categories": []}, 400, "categories"),
        ({"categories": ["output"]}, 400, "is not configured"),
        ({"categories": ["output"], "backup_dir": str(tmp_path / "missing")}, 400, "is not a directory"),
        ({"categories": ["output"], "backup_dir": str(report_dir / "sigproc_results")}, 400, "inside the report"),
    ]
    for body, status, text in cases:
        response = client.post(f"{DM}1/archive/", json_body=body)
        assert response.status == status and text in response.body.decode(), (body, response.body)
    assert client.post(f"{DM}999/archive/", json_body={"categories": ["output"],
                                                        "backup_dir": str(tmp_path)}).status == 404
    db = app.store.db
    _start_plugin_job(app, tmp_path)
    busy = client.post(f"{DM}1/archive/", json_body={"categories": ["output"], "backup_dir": str(tmp_path)})
    assert busy.status == 409 and "currently in use" in busy.json()["error"]
    assert db.execute_sql('SELECT COUNT(*) FROM "dmaction"').fetchone()[0] == 0


def _start_plugin_job(app, tmp_path):
    from torrentlite.runner.manager import PluginManager

    plugin = tmp_path / "Busy"
    plugin.mkdir()
    (plugin / "Busy.py").write_text("from ion.plugin import IonPlugin\nclass Busy(IonPlugin):\n"
                                    "    version = '1.0'\n    def launch(self):\n        return True\n")
    row = PluginManager(app.store, app.settings.plugins_path).install_dir(plugin)
    db = app.store.db
    with app.store.write():
        db.execute_sql('INSERT INTO "pluginresult" ("result_id", "owner_id", "plugin_id", "store", "apikey", "size", '
                       '"inodes") VALUES (1, (SELECT MIN(id) FROM "user"), ?, \'{}\', \'k\', 0, 0)', (row["id"],))
        db.execute_sql('INSERT INTO "PluginResultJob" ("plugin_result_id", "state", "grid_engine_jobid", "run_level", '
                       '"config") VALUES ((SELECT MAX(id) FROM "pluginresult"), \'Started\', 0, \'default\', \'{}\')')


CRASHER = textwrap.dedent("""
    import os, signal, sys
    from torrentlite.store.db import Store
    from torrentlite.datamgmt import actions

    store = Store(sys.argv[1])
    where, after = sys.argv[2], int(sys.argv[3])
    count = [0]

    def die():
        count[0] += 1
        if count[0] >= after:
            os.kill(os.getpid(), signal.SIGKILL)

    if where == "remove":
        real_unlink = os.unlink

        def unlink(path, *a, **k):
            real_unlink(path, *a, **k)
            die()
        os.unlink = unlink
    actions.run_pending(store, (lambda done, total: die()) if where == "copy" else None)
""")


@pytest.mark.parametrize("where", ["copy", "remove"])
def test_a_crash_mid_archive_is_resumed_on_restart(app, client, tmp_path, where):
    report_dir, _raw = populate(app, 1)
    assert client.post(f"{DM}1/archive/", json_body={"categories": ["output"],
                                                      "backup_dir": str(tmp_path)}).status == 202
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", CRASHER, str(app.settings.db_path), where, "3"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    journal = actions.actions(app.store.db)[0]
    assert journal.phase == ("copying" if where == "copy" else "removing")
    assert client.get(f"{DM}1/").json()["output_state"] == "Archiving"
    target = tmp_path / "archivedReports" / report_dir.name
    if where == "copy":
        # Nothing was removed before the copy was complete.
        assert all((report_dir / rel).exists() for rel in _in(OUT))
    # The restarted server's worker resumes the unfinished action first.
    app.dm_worker.step()
    assert actions.actions(app.store.db)[0].phase == "done"
    for rel in _in(OUT):
        assert (target / rel).is_file()
        assert (report_dir / rel).exists() == (rel in KEPT_FOR_BASE)
    assert not list(target.rglob("*.tlpart"))
    assert client.get(f"{DM}1/").json()["output_state"] == "Archived"


def test_cancel_a_pending_archive(app, client, tmp_path):
    assert client.post(f"{DM}1/archive/", json_body={"categories": ["output"],
                                                      "backup_dir": str(tmp_path)}).status == 202
    assert client.post(f"{DM}1/cancel/", json_body={"categories": ["output"]}).status == 200
    assert client.get(f"{DM}1/").json()["output_state"] == "Local"
    assert actions.run_pending(app.store) == 0
    assert "Canceled Archive Pending for Output Files" in [t for _u, t in _history(client)]


def test_deleting_archived_data_deletes_the_archive_copy(app, client, tmp_path):
    report_dir, _raw = populate(app, 1)
    client.post(f"{DM}1/archive/", json_body={"categories": ["misc"], "backup_dir": str(tmp_path)})
    actions.run_pending(app.store)
    target = tmp_path / "archivedReports" / report_dir.name
    assert (target / "log.html").is_file() and not (report_dir / "log.html").exists()
    assert client.post(f"{DM}1/delete/", json_body={"categories": ["misc"]}).status == 202
    actions.run_pending(app.store)
    assert not (target / "log.html").exists()
    assert client.get(f"{DM}1/").json()["misc_state"] == "Deleted"


def test_raw_data_state_is_shared_by_the_experiments_reports(app, client, tmp_path):
    populate(app, 1)
    with app.store.write():
        sig = state.filestats(app.store.db, 1)["Signal Processing Input"]
        report = state.load_report(app.store.db, 1)
        state.set_state(app.store.db, sig, report, "L", archivepath="", diskspace=None)
    client.post(f"{DM}1/archive/", json_body={"categories": ["sigproc"], "backup_dir": str(tmp_path)})
    actions.run_pending(app.store)
    raw = Path(report.exp_dir)
    assert (tmp_path / raw.name / "acq_0000.dat").is_file() and not (raw / "acq_0000.dat").exists()
    for pk in state.sibling_reports(app.store.db, report):
        assert client.get(f"{DM}{pk}/").json()["sigproc_state"] == "Archived"


def test_the_next_cli_command_finishes_an_action_a_crash_interrupted(app, client, tmp_path):
    report_dir, _raw = populate(app, 1)
    assert client.post(f"{DM}1/archive/", json_body={"categories": ["misc"],
                                                      "backup_dir": str(tmp_path)}).status == 202
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", CRASHER, str(app.settings.db_path), "remove", "2"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    app.store.close()
    out = subprocess.run([sys.executable, "-m", "torrentlite", "dm", "export", "1", "-c", "basecall", "--dest",
                          str(tmp_path), "--data-dir", str(app.settings.data_path)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "finished actions a crash had interrupted" in out.stdout
    assert client.get(f"{DM}1/").json()["misc_state"] == "Archived"
    assert not (report_dir / "log.html").exists()


def test_a_pending_action_waits_while_a_plugin_works_on_the_report(app, client, tmp_path):
    populate(app, 1)
    assert client.post(f"{DM}1/archive/", json_body={"categories": ["output"],
                                                      "backup_dir": str(tmp_path)}).status == 202
    _start_plugin_job(app, tmp_path)
    app.dm_worker.step()
    assert actions.actions(app.store.db)[0].phase == "queued"
    assert client.get(f"{DM}1/").json()["output_state"] == "Archive Pending"
    with app.store.write():
        app.store.db.execute_sql('UPDATE "PluginResultJob" SET "state" = \'Completed\'')
    app.dm_worker.step()
    assert client.get(f"{DM}1/").json()["output_state"] == "Archived"


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"categories": {"a": 1}}', b'{"categories": [null]}',
                                  b'{"categories": ["output"], "backup_dir": ["x"]}',
                                  b'{"categories": ["output"], "backup_dir": "/tmp", "comment": {"x": 1}}'])
def test_malformed_action_requests_get_400_and_change_nothing(app, client, body):
    response = client.post(f"{DM}1/archive/", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400 and "error" in response.json()
    assert actions.actions(app.store.db) == [] and client.get(f"{DM}1/").json()["output_state"] == "Local"
    assert client.post(f"{DM}configuration/", json_body={"filesets": []}).status == 400
