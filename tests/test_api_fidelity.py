"""Write, then read back as the real server answers: plan short IDs, plan summary views, reports' plan
short IDs, links to publishers, job rows written by clients, user profiles."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from runplugins import PluginEnv, add_plugin
from torrentlite.store.db import Store

API = "/rundb/api/v1/"
SUMMARY_VIEWS = ("plantemplatesummary", "ionchefplantemplatesummary", "onetouchplantemplatesummary",
                 "plannedexperimentdb")


def rel(url: str) -> str:
    return urlsplit(url).path


def count(app, table: str) -> int:
    return app.store.db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


# -- plans ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("view", ("plannedexperiment", "plannedexperimentdb", "plantemplatesummary"))
def test_a_given_plan_short_id_is_kept_and_only_a_missing_one_generated(client, view):
    r = client.post(API + f"{view}/", json_body={"planName": "kept id", "planShortID": "KEEP1", "isReusable": True})
    assert r.status == 201, r.body
    path = rel(r.headers["Location"])
    assert client.get(path).json()["planShortID"] == "KEEP1"
    assert client.patch(path, json_body={"planShortID": "KEEP2"}).status == 202
    assert client.get(path).json()["planShortID"] == "KEEP2"
    assert client.patch(path, json_body={"planShortID": ""}).status == 202
    regenerated = client.get(path).json()["planShortID"]
    assert len(regenerated) == 5 and regenerated.isalnum() and regenerated != "KEEP2"
    r = client.post(API + f"{view}/", json_body={"planName": "new id", "isReusable": True})
    generated = client.get(rel(r.headers["Location"])).json()["planShortID"]
    assert len(generated) == 5 and generated.isalnum()


@pytest.mark.parametrize("view", SUMMARY_VIEWS)
def test_plan_summary_views_write_the_plan_row_and_create_no_experiment(client, app, view):
    existing = client.get(API + "plannedexperiment/", params={"limit": 1}).json()["objects"][0]
    assert existing["experiment"]  # the GUID is already an experiment's `unique`
    before = {t: count(app, t) for t in ("experiment", "experimentanalysissettings", "sample", "plannedexperiment")}
    body = {"planName": "summary copy", "planGUID": existing["planGUID"], "isReusable": True,
            "templatingKitName": existing["templatingKitName"], "runType": "AMPS", "chipType": "530",
            "library": "hg19", "sample": "ignored_sample"}
    r = client.post(API + f"{view}/", json_body=body)
    assert r.status == 201, r.body
    after = {t: count(app, t) for t in before}
    assert after == {**before, "plannedexperiment": before["plannedexperiment"] + 1}
    path = rel(r.headers["Location"])
    plan = client.get(path).json()
    assert plan["planGUID"] == existing["planGUID"] and plan["planName"] == "summary_copy"
    assert plan["planDisplayedName"] == "summary copy" and plan["runType"] == "AMPS"
    assert plan["planStatus"] == "planned" and plan["origin"] == "" and len(plan["planShortID"]) == 5
    full = client.get(API + f"plannedexperiment/{plan['id']}/").json()
    assert full["experiment"] is None and full["chipType"] == "" and full["library"] == ""
    if view == "plannedexperimentdb":
        assert r.json()["id"] == plan["id"]  # always_return_data


def test_plannedexperimentdb_takes_projects_and_sample_sets_by_name(client, app):
    sample_set = client.get(API + "sampleset/", params={"limit": 1}).json()["objects"][0]
    experiments = count(app, "experiment")
    r = client.post(API + "plannedexperimentdb/", json_body={
        "planName": "db plan", "projects": ["dbproj"], "sampleSetDisplayedName": sample_set["displayedName"]})
    assert r.status == 201, r.body
    plan = r.json()
    assert plan["projects"] == ["dbproj"] and plan["project"] == "dbproj"
    assert plan["sampleSets"] == [sample_set["resource_uri"]] and plan["experiment"] is None
    assert count(app, "experiment") == experiments


def test_a_plan_on_a_chef_kit_is_pending_unless_it_is_a_template(client):
    chef_kit = client.get(API + "kitinfo/", params={"kitType": "IonChefPrepKit", "limit": 1}).json()["objects"][0]
    for reusable, status in ((False, "pending"), ("true", "planned")):
        r = client.post(API + "plannedexperimentdb/", json_body={
            "planName": "chef", "templatingKitName": chef_kit["name"], "isReusable": reusable})
        assert r.status == 201 and r.json()["planStatus"] == status


def test_plannedexperiment_still_creates_its_experiment(client, app):
    experiments = count(app, "experiment")
    r = client.post(API + "plannedexperiment/", json_body={"planName": "full plan", "chipType": "530"})
    assert r.status == 201, r.body
    assert count(app, "experiment") == experiments + 1
    assert client.get(r.json()["experiment"]).json()["expName"] == r.json()["planGUID"]


# -- results.planShortID ---------------------------------------------------------------------------------
def test_results_plan_short_id_comes_from_the_experiment_log_only(client):
    result = client.get(API + "results/1/").json()
    experiment = client.get(result["experiment"]).json()
    plan_short_id = client.get(experiment["plan"]).json()["planShortID"]
    assert plan_short_id and result["planShortID"] == experiment["log"]["planned_run_short_id"]

    def short_id_with_log(log):
        assert client.patch(rel(experiment["resource_uri"]), json_body={"log": log}).status == 202
        return client.get(API + "results/1/").json()["planShortID"]

    assert short_id_with_log({"pending_run_short_id": "PEND1"}) == "PEND1"
    assert short_id_with_log({"planned_run_short_id": "PLAN1", "pending_run_short_id": "PEND1"}) == "PLAN1"
    assert short_id_with_log({"planned_run_short_id": ""}) == ""
    assert short_id_with_log({}) == ""  # the plan still has its own short ID; it is not used
    listed = client.get(API + "results/", params={"id": 1}).json()["objects"][0]
    assert listed["planShortID"] == ""


# -- related URIs to resources addressed by name -------------------------------------------------------
def _name_addressed_links(app):
    """(resource, field) of every relation shown as URIs whose target's detail key is not its pk."""
    registry = app.store.registry
    links = []
    for res in registry.resources.values():
        for name, fd in res.fields.items():
            target = registry.get(fd.target) if fd.link is not None else None
            if target is None or fd.nested or target.table is None:
                continue
            if target.detail_key != registry.tables[target.table].pk:
                links.append((res.name, name))
    return links


def test_links_to_publishers_use_the_publisher_name(client, app):
    # (BED and refAnnot are installed with every data directory; this one is new.)
    publisher = {"name": "Targets", "version": "1.0", "date": "2024-01-02T03:04:05Z", "path": "/tmp/BED",
                 "global_meta": {}}
    r = client.post(API + "publisher/", json_body=publisher)
    assert r.status == 201 and rel(r.headers["Location"]) == API + "publisher/Targets/"
    upload = client.post(API + "contentupload/", json_body={"file_path": "/tmp/BED/x.bed", "status": "Successful"})
    r = client.post(API + "content/", json_body={
        "publisher": API + "publisher/Targets/", "contentupload": rel(upload.headers["Location"]),
        "file": "/tmp/BED/x.bed", "path": "/hg19/unmerged/detail/x.bed", "meta": {}})
    assert r.status == 201, r.body
    content = client.get(rel(r.headers["Location"])).json()
    assert content["publisher"] == API + "publisher/Targets/"
    assert client.get(content["publisher"]).json()["name"] == "Targets"
    links = _name_addressed_links(app)
    assert ("content", "publisher") in links
    for resource, field in links:
        objects = client.get(API + f"{resource}/", params={"limit": 0}).json()["objects"]
        uris = [o[field] for o in objects if o.get(field)]
        uris = [u for v in uris for u in (v if isinstance(v, list) else [v])]
        assert uris, f"no {resource}.{field} link to check"
        for uri in uris:
            assert client.get(uri).status == 200, (resource, field, uri)
    # A client may send the link back as it reads it.
    path = rel(r.headers["Location"])
    assert client.put(path, json_body={"publisher": content["publisher"]}).status == 204
    assert client.get(path).json()["publisher"] == API + "publisher/Targets/"


# -- PluginResultJob rows written through the API ------------------------------------------------------
def test_job_rows_written_by_clients_are_left_as_written(client, app, tmp_path):
    written = {}
    for state in ("Started", "Queued"):
        body = {"grid_engine_jobid": 90000 + len(written), "run_level": "default", "state": state,
                "starttime": "2020-05-06T07:08:09+00:00", "config": {"from": "client"}, "executor": "local"}
        r = client.post(API + "PluginResultJob/", json_body=body)
        assert r.status == 201, r.body
        written[state] = rel(r.headers["Location"])
    env = PluginEnv(app, tmp_path)
    try:
        add_plugin(app.store, env.plugins, env.events, "Quick")
        env.sched.recover()
        env.sched.launch(1, ["Quick"])
        assert env.sched.run_until_idle(timeout=30)
        for _ in range(3):
            env.sched.tick()
    finally:
        env.sched.stop()
    for state, path in written.items():
        job = client.get(path).json()
        assert job["state"] == state and job["endtime"] is None
        assert job["starttime"] == "2020-05-06T07:08:09+00:00" and job["config"] == {"from": "client"}
    # The job torrentlite ran itself finished normally beside them.
    jobs = client.get(API + "PluginResultJob/", params={"limit": 0}).json()["objects"]
    assert sorted(j["state"] for j in jobs if rel(j["resource_uri"]) not in written.values()) == ["Completed"]


def test_a_job_this_server_started_is_still_recovered(app, tmp_path):
    env = PluginEnv(app, tmp_path)
    add_plugin(app.store, env.plugins, env.events, "Quick")
    env.sched.launch(1, ["Quick"])
    assert env.sched.run_until_idle(timeout=30)
    env.sched.stop()
    # As if the server had died while submitting the job: the row says Started, no process was recorded.
    with app.store.write():
        app.store.db.execute_sql('UPDATE "PluginResultJob" SET state = ?, endtime = NULL, external_id = NULL',
                                 ("Started",))
    fresh = PluginEnv(app, tmp_path / "again")
    try:
        assert fresh.sched.recover()["finished"] == 1
    finally:
        fresh.sched.stop()
    state, reason = app.store.db.execute_sql('SELECT state, reason FROM "PluginResultJob"').fetchone()
    assert state == "Error" and reason


# -- user profiles -----------------------------------------------------------------------------------------
def test_user_profile_has_every_field_of_the_model(client):
    r = client.get(API + "user/", params={"username": "ionadmin"})
    profile = r.json()["objects"][0]["profile"]
    assert set(profile) == {"id", "name", "phone_number", "title", "note", "last_read_news_post", "resource_uri"}
    assert profile["last_read_news_post"] == "1984-11-06T00:00:00+00:00" and profile["resource_uri"] == ""


def test_profiles_of_an_older_database_gain_the_field(app):
    path = app.store.path
    with app.store.write():
        app.store.db.execute_sql('ALTER TABLE "userprofile" DROP COLUMN "last_read_news_post"')
        app.store.db.execute_sql('DELETE FROM "schema_version" WHERE version > 1')
    app.close()
    store = Store(path)
    try:
        assert store.migrate() == 1
        values = {v for (v,) in store.db.execute_sql('SELECT last_read_news_post FROM "userprofile"')}
        assert values == {"1984-11-06 00:00:00.000000"}
    finally:
        store.close()
