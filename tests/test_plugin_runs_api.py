"""The plugin-run endpoints: launch (202/410), the report's plugin result list, stop and delete."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from runplugins import add_plugin, job_rows

API = "/rundb/api/v1"


@pytest.fixture
def env(app, client, tmp_path):
    class Env:
        pass
    e = Env()
    e.app, e.store, e.client = app, app.store, client
    e.plugins, e.events = tmp_path / "plugins", tmp_path / "events"
    e.sched = app.scheduler
    e.sched.settings["plugin_memory_floor_mb"] = 0
    yield e
    e.sched.stop()


def _drain(sched, timeout=20):
    assert sched.run_until_idle(timeout=timeout)


def test_launch_by_name_list_and_id_returns_202(env):
    pid = add_plugin(env.store, env.plugins, env.events, "Hello", "open('Hello_block.html','w').write('hi')")
    for body in ({"plugin": "Hello"}, {"plugin": ["Hello"]}, {"plugin": pid, "pluginconfig": {"a": 1}}):
        r = env.client.post(f"{API}/results/1/plugin/", json_body=body)
        assert r.status == 202, r.body
    _drain(env.sched)
    listing = env.client.get(f"{API}/results/1/pluginresults/").json()
    assert [e["Name"] for e in listing] == ["Hello"] * 3
    entry = listing[0]
    assert set(entry) == {"Name", "Version", "Path", "URL", "Files", "Links", "Major", "Size", "inodes", "id",
                          "show", "can_terminate", "plugin_result_jobs", "State", "validation_errors"}
    assert entry["State"] == "Completed" and entry["Files"] == ["Hello_block.html"] and entry["Links"] == []
    assert entry["URL"].endswith(f"/plugin_out/Hello_out.{entry['id']}/") and entry["Size"] > 0
    assert entry["plugin_result_jobs"][0]["state"] == "Completed"


def test_launch_refusals(env):
    add_plugin(env.store, env.plugins, env.events, "Disabled", "", active=False)
    assert env.client.post(f"{API}/results/1/plugin/", json_body={"plugin": "Nope"}).status == 410
    assert env.client.post(f"{API}/results/1/plugin/", json_body={"plugin": "Disabled"}).status == 410
    assert env.client.post(f"{API}/results/1/plugin/", json_body={"pluginconfig": {}}).status == 410
    assert env.client.post(f"{API}/results/999/plugin/", json_body={"plugin": "Nope"}).status == 404
    assert env.client.post(f"{API}/results/1/plugin/", json_body={"plugin": "x", "pluginconfig": 3}).status == 400


def test_failed_validation_shows_in_the_list(env):
    add_plugin(env.store, env.plugins, env.events, "Picky", "", requires_configuration=True)
    assert env.client.post(f"{API}/results/1/plugin/", json_body={"plugin": "Picky"}).status == 202
    [entry] = env.client.get(f"{API}/results/1/pluginresults/").json()
    assert entry["State"] == "Failed Validation"
    assert entry["validation_errors"] == ["Picky requires configuration before execution."]


def test_stop_then_delete(env):
    add_plugin(env.store, env.plugins, env.events, "Long", "time.sleep(60)")
    assert env.client.post(f"{API}/results/1/plugin/", json_body={"plugin": "Long"}).status == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        env.sched.tick()
        [entry] = env.client.get(f"{API}/results/1/pluginresults/").json()
        if entry["State"] == "Started":
            break
        time.sleep(0.05)
    assert entry["State"] == "Started" and entry["can_terminate"]
    assert env.client.get(f"{API}/pluginresult/{entry['id']}/stop/").status == 204
    [entry] = env.client.get(f"{API}/results/1/pluginresults/").json()
    assert entry["State"] == "Cancelled" and not entry["can_terminate"]
    folder = Path(entry["Path"])
    assert folder.is_dir()
    assert env.client.delete(f"{API}/pluginresult/{entry['id']}/delete/").status == 204
    assert not folder.exists()
    assert env.client.get(f"{API}/results/1/pluginresults/").json() == []
    assert job_rows(env.store) == []
    assert env.client.delete(f"{API}/pluginresult/{entry['id']}/delete/").status == 404


def _select_in_plan(store, result_pk, names):
    row = store.db.execute_sql('SELECT eas_id FROM "results" WHERE id = ?', (result_pk,)).fetchone()
    selected = {name: {"name": name, "userInput": {}} for name in names}
    with store.write():
        store.db.execute_sql('UPDATE "experimentanalysissettings" SET "selectedPlugins" = ? WHERE id = ?',
                             (json.dumps(selected), row[0]))


def test_a_report_patched_to_completed_runs_the_plan_selected_plugins(env):
    add_plugin(env.store, env.plugins, env.events, "Chosen", "")
    add_plugin(env.store, env.plugins, env.events, "NotChosen", "")
    _select_in_plan(env.store, 1, ["Chosen", "NotInstalled"])
    assert env.client.patch(f"{API}/results/1/", json_body={"status": "Started"}).status == 202
    assert env.client.get(f"{API}/results/1/pluginresults/").json() == []
    assert env.client.patch(f"{API}/results/1/", json_body={"status": "Completed"}).status == 202
    _drain(env.sched)
    listing = env.client.get(f"{API}/results/1/pluginresults/").json()
    assert [(e["Name"], e["State"]) for e in listing] == [("Chosen", "Completed")]
    # Already completed: saving it again launches nothing more.
    assert env.client.patch(f"{API}/results/1/", json_body={"status": "Completed", "log": "x"}).status == 202
    assert len(env.client.get(f"{API}/results/1/pluginresults/").json()) == 1


def test_a_rejected_write_launches_nothing(env):
    add_plugin(env.store, env.plugins, env.events, "Chosen", "")
    _select_in_plan(env.store, 1, ["Chosen"])
    assert env.client.patch(f"{API}/results/1/", json_body={"status": "Started"}).status == 202
    bad = env.client.patch(f"{API}/results/1/", json_body={"status": "Completed", "experiment": 5})
    assert bad.status == 400
    assert env.client.get(f"{API}/results/1/pluginresults/").json() == []


WAITING_VALIDATION = '''
    def custom_validation(self, configuration, run_mode):
        import os, time
        here = os.path.dirname(os.path.abspath(__file__))
        open(os.path.join(here, "validation-started"), "w").close()
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(here, "release")) and time.time() < deadline:
            time.sleep(0.05)
        open(os.path.join(here, "validated"), "w").write(run_mode)
        return []
'''


def test_completing_a_report_never_waits_for_custom_validation(env):
    env.sched.validations.timeout = 90
    folders = []
    for name in ("WaitsA", "WaitsB"):
        add_plugin(env.store, env.plugins, env.events, name, "")
        source = env.plugins / name / f"{name}.py"
        marker = "    def launch(self, data=None):"
        source.write_text(source.read_text().replace(marker, WAITING_VALIDATION + "\n" + marker, 1))
        folders.append(env.plugins / name)
    _select_in_plan(env.store, 1, ["WaitsA", "WaitsB"])
    assert env.client.patch(f"{API}/results/1/", json_body={"status": "Started"}).status == 202
    assert env.client.patch(f"{API}/results/1/", json_body={"status": "Completed"}).status == 202
    # The request has returned with both plugins queued and neither validation begun: no plugin code ran in it.
    listing = env.client.get(f"{API}/results/1/pluginresults/").json()
    assert sorted((e["Name"], e["State"]) for e in listing) == [("WaitsA", "Queued"), ("WaitsB", "Queued")]
    assert not any((f / "validation-started").exists() for f in folders)
    # The scheduler validates them (in its workers), then runs them once validation answers.
    deadline = time.monotonic() + 30
    while not all((f / "validation-started").exists() for f in folders) and time.monotonic() < deadline:
        env.sched.tick()
        time.sleep(0.05)
    assert all((f / "validation-started").exists() for f in folders)
    listing = env.client.get(f"{API}/results/1/pluginresults/").json()
    assert {e["State"] for e in listing} == {"Queued"}
    for folder in folders:
        (folder / "release").touch()
    _drain(env.sched, timeout=60)
    listing = env.client.get(f"{API}/results/1/pluginresults/").json()
    assert sorted((e["Name"], e["State"]) for e in listing) == [("WaitsA", "Completed"), ("WaitsB", "Completed")]
    assert all((f / "validated").read_text() == "pipeline" for f in folders)


def test_stopping_never_loses_the_recorded_usage(env):
    """stop/ races the scheduler thread's bookkeeping of the ended job; repeated, every stop keeps its usage."""
    add_plugin(env.store, env.plugins, env.events, "Stoppable", "time.sleep(60)")
    env.sched.start()
    try:
        for _attempt in range(12):
            body = env.client.post(f"{API}/results/1/plugin/", json_body={"plugin": "Stoppable"}).json()
            pr_id = body["plugins"][0]["pluginresult"]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and [r["state"] for r in job_rows(env.store, pr_id)] != ["Started"]:
                time.sleep(0.02)
            assert env.client.get(f"{API}/pluginresult/{pr_id}/stop/").status == 204
            [row] = job_rows(env.store, pr_id)
            assert row["state"] == "Cancelled"
            assert row["usage"] and row["usage"]["wall_seconds"] > 0, row
    finally:
        env.sched.stop()


def test_sgejobs_counts_the_local_queue(env):
    add_plugin(env.store, env.plugins, env.events, "Long", "time.sleep(60)")
    add_plugin(env.store, env.plugins, env.events, "After", "", depends=["Long"])
    env.sched.launch(1, ["Long", "After"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [r["state"] for r in job_rows(env.store)] != ["Started", "Queued"]:
        env.sched.tick()
        time.sleep(0.05)
    counts = env.client.get(f"{API}/torrentsuite/sgejobs/").json()
    assert counts == {"total_jobs": 2, "analysis_jobs": 0, "plugin_jobs": 2, "pending_jobs": 1,
                      "queues": {"local": {"running": 1}}}
    for row in env.client.get(f"{API}/results/1/pluginresults/").json():
        env.sched.cancel(row["id"])
