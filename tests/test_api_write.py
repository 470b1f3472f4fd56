"""Writes: POST/PUT/PATCH/DELETE on lists and details, input rules, atomicity, plan creation, cascades."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

API = "/rundb/api/v1/"
SDK_PLAN = {
    "library": "hg19", "planName": "DOCS_my_plan", "sample": "my_sample", "chipType": "520",
    "sequencekitname": "Ion S5 Sequencing Kit", "librarykitname": "Ion Xpress Plus Fragment Library Kit",
    "templatingKitName": "Ion 520/530 Kit-OT2",
}
SDK_BARCODED = {**SDK_PLAN, "barcodeId": "IonXpress", "barcodedSamples": {
    "demo sample 1": {"barcodeSampleInfo": {"IonXpress_003": {"description": "d", "nucleotideType": "DNA",
                                                                "reference": "hg19"}}, "barcodes": ["IonXpress_003"]},
    "demo sample 2": {"barcodeSampleInfo": {"IonXpress_004": {"description": "d", "nucleotideType": "DNA",
                                                                "reference": "hg19"}}, "barcodes": ["IonXpress_004"]},
}}


def rel(url: str) -> str:
    """A Location header as a path on this server."""
    return urlsplit(url).path


def count(app, table: str) -> int:
    return app.store.db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


def snapshot(app, table: str):
    return app.store.db.execute_sql(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()


def new_project(client, name="alpha"):
    r = client.post(API + "project/", json_body={"name": name, "creator": API + "user/1/"})
    assert r.status == 201, r.body
    return r.headers["Location"]


# -- POST / PUT / PATCH / DELETE basics --------------------------------------------------------------
def test_post_returns_201_and_absolute_location(client):
    r = client.post(API + "project/", json_body={"name": "alpha", "creator": API + "user/1/"},
                    headers={"Host": "ts.example:8080"})
    assert r.status == 201 and r.body == b""
    assert r.headers["Location"].startswith("http://ts.example:8080/rundb/api/v1/project/")
    got = client.get(rel(r.headers["Location"])).json()
    assert got["name"] == "alpha" and got["creator"] == API + "user/1/"


def test_put_updates_or_creates_patch_updates_delete_removes(client, app):
    path = rel(new_project(client))
    assert client.put(path, json_body={"name": "beta"}).status == 204
    assert client.get(path).json()["name"] == "beta"
    r = client.patch(path, json_body={"public": "false"})
    assert r.status == 202 and client.get(path).json()["public"] is False
    r = client.put(API + "project/777/", json_body={"name": "made", "creator": API + "user/1/"})
    assert r.status == 201 and r.headers["Location"].endswith("/rundb/api/v1/project/777/")
    assert client.delete(path).status == 204
    missing = client.delete(path)
    assert missing.status == 404 and missing.body == b""
    assert client.patch(path, json_body={"name": "x"}).status == 404


def test_post_to_detail_is_501(client):
    assert client.post(API + "project/1/", json_body={"name": "x"}).status == 501


def test_always_return_data_resources_answer_with_the_object(client):
    r = client.post(API + "plannedexperiment/", json_body=SDK_PLAN)
    assert r.status == 201 and r.json()["planName"] == "DOCS_my_plan"
    r = client.patch(API + f"plannedexperiment/{r.json()['id']}/", json_body={"notes": "n"})
    assert r.status == 202 and r.json()["id"]


def test_unknown_readonly_and_computed_keys_are_ignored(client):
    r = client.post(API + "project/", json_body={"name": "alpha", "creator": API + "user/1/", "nonsense": 1,
                                                 "resultsCount": 99})
    assert r.status == 201
    assert client.get(rel(r.headers["Location"])).json()["resultsCount"] == 0


def test_view_writes_to_its_base_table(client, app):
    before = count(app, "kitinfo")
    r = client.post(API + "activesequencingkitinfo/", json_body={
        "name": "MyKit", "uid": "MYKIT1", "kitType": "SequencingKit", "flowCount": 500, "description": "mine"})
    assert r.status == 201, r.body
    assert count(app, "kitinfo") == before + 1
    assert client.get(API + "kitinfo/", params={"name": "MyKit"}).json()["meta"]["total_count"] == 1


# -- input rules ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, message", [
    ({"name": "x", "creator": 1}, "was given data that was not a URI, not a dictionary-alike and does not have a "
                                  "'pk' attribute: 1."),
    ({"name": "x", "creator": API + "user/9999/"}, "Could not find the provided object via resource URI"),
    ({"name": "x", "creator": API + "project/1/"}, "Could not find the provided object via resource URI"),
    ({"name": "x", "creator": API + "user/1/", "modified": "not a date"}, "doesn't appear to be a valid datetime"),
    ({"name": "x", "creator": API + "user/1/", "public": "maybe"}, "expects a boolean"),
    ({"creator": API + "user/1/"}, "The 'name' field has no data and doesn't allow a null value."),
    ({"name": "x"}, "The 'creator' field has no data"),
])
def test_bad_input_is_400_and_writes_nothing(client, app, body, message):
    before = snapshot(app, "project")
    r = client.post(API + "project/", json_body=body)
    assert r.status == 400, r.body
    assert message in r.json()["error"]
    assert snapshot(app, "project") == before


def test_unique_violation_is_400(client, app):
    new_project(client, "dup")
    before = snapshot(app, "project")
    r = client.post(API + "project/", json_body={"name": "dup", "creator": API + "user/1/"})
    assert r.status == 400 and "UNIQUE" in r.json()["error"]
    assert snapshot(app, "project") == before


def test_absolute_uri_nested_dict_json_string_datetime_and_booleans(client, app):
    r = client.post(API + "project/", json_body={"name": "a", "creator": "http://other:1/rundb/api/v1/user/1/",
                                                 "public": "false", "modified": "2020-01-02T03:04:05"})
    assert r.status == 201, r.body
    got = client.get(rel(r.headers["Location"])).json()
    assert got["public"] is False and got["modified"].startswith("2020-01-02T03:04:05") \
        and got["modified"].endswith("+00:00")
    r = client.post(API + "results/", json_body={})
    r = client.patch(API + "results/1/", json_body={"metaData": '{"k": [1, 2]}'})
    assert r.status == 202 and client.get(API + "results/1/").json()["metaData"] == {"k": [1, 2]}
    r = client.patch(API + "results/1/", json_body={"metaData": "{broken"})
    assert r.status == 400
    kit = client.post(API + "kitinfo/", json_body={
        "name": "K2", "uid": "K2", "kitType": "LibraryKit", "flowCount": 0,
        "parts": [{"barcode": "BC-1"}, {"barcode": "BC-2"}]})
    assert kit.status == 201, kit.body
    parts = client.get(rel(kit.headers["Location"])).json()["parts"]
    assert sorted(p["barcode"] for p in parts) == ["BC-1", "BC-2"]


def test_null_on_a_non_nullable_field_is_ignored(client):
    loc = rel(new_project(client))
    assert client.patch(loc, json_body={"name": None}).status == 202
    assert client.get(loc).json()["name"] == "alpha"


def test_m2m_is_replaced(client):
    p1 = rel(new_project(client, "p1"))
    p2 = rel(new_project(client, "p2"))
    assert client.patch(API + "results/1/", json_body={"projects": [p1, p2]}).status == 202
    assert sorted(client.get(API + "results/1/").json()["projects"]) == sorted([p1, p2])
    assert client.patch(API + "results/1/", json_body={"projects": [p2]}).status == 202
    assert client.get(API + "results/1/").json()["projects"] == [p2]


# -- list PATCH / PUT / DELETE ---------------------------------------------------------------------------
def test_list_patch_updates_creates_deletes_in_one_transaction(client, app):
    a = rel(new_project(client, "a"))
    b = rel(new_project(client, "b"))
    r = client.patch(API + "project/", json_body={
        "objects": [{"resource_uri": a, "name": "a2"}, {"name": "c", "creator": API + "user/1/"}],
        "deleted_objects": [b]})
    assert r.status == 202, r.body
    names = {o["name"] for o in client.get(API + "project/", params={"limit": 0}).json()["objects"]}
    assert {"a2", "c"} <= names and "b" not in names


def test_list_patch_with_one_bad_object_applies_nothing(client, app):
    a = rel(new_project(client, "a"))
    before = snapshot(app, "project")
    r = client.patch(API + "project/", json_body={
        "objects": [{"resource_uri": a, "name": "changed"}, {"name": "new", "creator": API + "user/1/"},
                    {"name": "bad", "creator": 7}]})
    assert r.status == 400
    assert snapshot(app, "project") == before
    assert client.patch(API + "project/", json_body={"deleted": []}).json()["error"] == \
        "Invalid data sent: missing 'objects'"


def test_list_delete_needs_filters_or_confirm(client, app):
    new_project(client, "keep")
    new_project(client, "drop")
    r = client.delete(API + "project/")
    assert r.status == 400 and "confirm=all" in r.json()["error"]
    assert client.delete(API + "project/", params={"name": "drop"}).status == 204
    names = {o["name"] for o in client.get(API + "project/", params={"limit": 0}).json()["objects"]}
    assert "keep" in names and "drop" not in names
    assert client.delete(API + "project/", params={"confirm": "all"}).status == 204
    assert count(app, "project") == 0


def test_list_put_replaces_only_filtered_rows(client, app):
    new_project(client, "keep")
    new_project(client, "swap")
    r = client.put(API + "project/?name=swap", json_body={"objects": [{"name": "new", "creator": API + "user/1/"}]})
    assert r.status == 204, r.body
    names = {o["name"] for o in client.get(API + "project/", params={"limit": 0}).json()["objects"]}
    assert {"keep", "new"} <= names and "swap" not in names
    assert client.put(API + "project/", json_body={}).json()["error"] == "Invalid data sent."


# -- the SDK's plan examples -------------------------------------------------------------------------------
def test_sdk_minimal_plan_creates_plan_experiment_eas_and_sample(client, app):
    r = client.post(API + "plannedexperiment/", json_body={**SDK_PLAN, "planName": "DOCS my plan",
                                                           "projects": ["newproj"]})
    assert r.status == 201, r.body
    plan = r.json()
    assert plan["planName"] == "DOCS_my_plan" and plan["planDisplayedName"] == "DOCS my plan"
    assert plan["planStatus"] == "planned" and len(plan["planShortID"]) == 5 and plan["planShortID"].isalnum()
    assert len(plan["planGUID"]) == 36
    assert plan["chipType"] == "520" and plan["library"] == "hg19" and plan["sample"] == "my_sample"
    assert plan["librarykitname"] == "Ion Xpress Plus Fragment Library Kit"
    assert plan["sequencekitname"] == "Ion S5 Sequencing Kit" and plan["projects"] == ["newproj"]
    exp = client.get(plan["experiment"]).json()
    assert exp["expName"] == plan["planGUID"] and exp["status"] == "planned"
    eas = exp["eas_set"][0]
    config = client.get(API + "globalconfig/1/").json()
    assert eas["reference"] == "hg19" and eas["libraryKey"] == config["default_library_key"]


def test_sdk_barcoded_plan_and_default_plugins(client, app):
    app.store.db.execute_sql(
        'INSERT INTO "plugin" (name, version, date, active, selected, defaultSelected, path, script, description, '
        'majorBlock, url, packageName, config, status, pluginsettings, userinputfields) VALUES '
        '(?, ?, ?, 1, 1, 1, "", "", "", 0, "", "", "{}", "{}", "{}", "{}")',
        ("AutoOne", "1.0", "2020-01-01 00:00:00.000000"))
    r = client.post(API + "plannedexperiment/", json_body=SDK_BARCODED)
    assert r.status == 201, r.body
    plan = r.json()
    assert plan["barcodeId"] == "IonXpress" and set(plan["barcodedSamples"]) == {"demo sample 1", "demo sample 2"}
    assert "AutoOne" in plan["selectedPlugins"]
    r = client.post(API + "plannedexperiment/", json_body={**SDK_PLAN, "include_plugin_default_selection": False})
    assert "AutoOne" not in r.json()["selectedPlugins"]
    assert r.json()["planShortID"] != plan["planShortID"]


# -- results custom endpoints, rig -------------------------------------------------------------------
def test_results_metadata_post(client):
    r = client.post(API + "results/1/metadata/", json_body={"metadata": {"a": 1, "b": 2}})
    assert r.status == 202
    r = client.post(API + "results/1/metadata/", json_body={"metadata": {"c": 3}, "remove": ["a"]})
    meta = client.get(API + "results/1/metadata/").json()
    assert meta.get("b") == 2 and meta.get("c") == 3 and "a" not in meta


def _plugin(app, name="Demo", active=1):
    cur = app.store.db.execute_sql(
        'INSERT INTO "plugin" (name, version, date, active, selected, defaultSelected, path, script, description, '
        'majorBlock, url, packageName, config, status, pluginsettings, userinputfields) VALUES '
        '(?, "1.0", "2020-01-01 00:00:00.000000", ?, 1, 0, "", "", "", 0, "", "", "{}", "{}", "{}", "{}")',
        (name, active))
    del cur
    return app.store.db.execute_sql('SELECT MAX(id) FROM "plugin"').fetchone()[0]


def test_pluginstore_put_is_all_or_nothing_and_pluginresult_patch(client, app):
    _plugin(app, "StoreA")
    r = client.put(API + "results/1/pluginstore/", json_body={"StoreA": {"x": 1}, "NoSuchPlugin": {}})
    assert r.status == 400 and count(app, "pluginresult") == 0
    assert client.put(API + "results/1/pluginstore/", json_body={"StoreA": {"x": 1}}).status == 202
    assert client.get(API + "results/1/pluginstore/").json()["StoreA"] == {"x": 1}
    pr = client.get(API + "pluginresult/").json()["objects"][0]
    assert client.patch(pr["resource_uri"], json_body={"store": {"y": 2}}).status == 202
    assert client.get(pr["resource_uri"]).json()["store"] == {"y": 2}


def test_rig_status_and_config(client):
    r = client.get(API + "rig/default/status/")
    assert r.status == 200 and set(r.json()) == {"state", "last_init_date", "last_clean_date", "last_experiment",
                                                 "version", "alarms"}
    assert client.put(API + "rig/default/status/", json_body={"state": "Idle", "alarms": {"a": 1}}).status == 202
    assert client.get(API + "rig/default/status/").json()["state"] == "Idle"
    assert client.put(API + "rig/default/status/", json_body={"bogus": 1}).status == 400
    assert set(client.get(API + "rig/default/config/").json()) == {"ftppassword", "ftprootdir", "ftpserver",
                                                                   "ftpusername", "updateflag"}
    assert client.get(API + "rig/nope/status/").status == 404


# -- cascades on disk ------------------------------------------------------------------------------------
def _plugin_result_with_folder(client, app, result_id=1):
    plugin_id = _plugin(app, f"Cas{result_id}")
    r = client.post(API + "pluginresult/", json_body={"result": API + f"results/{result_id}/",
                                                      "plugin": API + f"plugin/{plugin_id}/"})
    assert r.status == 201, r.body
    pr = client.get(rel(r.headers["Location"])).json()
    path = pr["path"]
    assert path and str(app.settings.results_path) in path
    os.makedirs(path)
    with open(os.path.join(path, "out.html"), "w") as fh:
        fh.write("x")
    return pr, path


def test_deleting_a_plugin_result_removes_its_output_folder(client, app):
    pr, path = _plugin_result_with_folder(client, app)
    sibling = os.path.join(os.path.dirname(path), "Other_out.999")
    os.makedirs(sibling)
    assert client.delete(pr["resource_uri"]).status == 204
    assert not os.path.exists(path) and os.path.isdir(sibling)


def test_deleting_a_plan_cascades_to_experiment_results_and_plugin_folders(client, app):
    exp = client.get(API + "results/1/").json()["experiment"]
    plan_uri = client.get(exp).json()["plan"]
    assert plan_uri
    pr, path = _plugin_result_with_folder(client, app)
    report = os.path.dirname(os.path.dirname(path))
    assert client.delete(plan_uri).status == 204
    assert client.get(exp).status == 404 and client.get(API + "results/1/").status == 404
    assert client.get(pr["resource_uri"]).status == 404
    assert not os.path.exists(path) and os.path.isdir(report)


def test_folders_outside_the_results_folder_are_never_touched(client, app, tmp_path):
    pr, path = _plugin_result_with_folder(client, app)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("x")
    os.rename(path, path + ".moved")
    os.symlink(outside, path)
    assert client.delete(pr["resource_uri"]).status == 204
    assert (outside / "keep.txt").exists()


def test_integers_beyond_64_bits_are_a_400_and_change_nothing(client):
    before = client.get(API + "results/1/").json()
    for value in (2 ** 63, 9.223372036854776e18, "-99999999999999999999"):
        response = client.patch(API + "results/1/", json_body={"processedflows": value})
        assert response.status == 400 and "64 bits" in response.json()["error"], response.body
    assert client.get(API + "results/1/").json() == before


def test_plan_conveniences_of_the_real_server(client, app):
    qc = client.get(API + "qctype/", params={"limit": 0}).json()["objects"][0]
    group = client.get(API + "applicationgroup/", params={"limit": 1}).json()["objects"][0]
    grouping = client.get(API + "samplegrouptype_cv/", params={"limit": 1}).json()["objects"][0]
    sample_set = client.get(API + "sampleset/", params={"limit": 1}).json()["objects"][0]
    chef_kit = client.get(API + "kitinfo/", params={"kitType": "IonChefPrepKit", "limit": 1}).json()["objects"][0]
    body = {"planName": "conveniences plan", "templatingKitName": chef_kit["name"], qc["qcName"]: 42,
            "applicationGroupDisplayedName": group["description"], "sampleGroupingName": grouping["displayedName"],
            "sampleSetDisplayedName": sample_set["displayedName"]}
    response = client.post(API + "plannedexperiment/", json_body=body)
    assert response.status == 201, response.body
    plan = response.json()
    assert plan["planStatus"] == "pending"  # planned on a Chef kit
    assert plan["origin"].startswith("api|")
    assert plan["applicationGroup"] == group["resource_uri"]
    assert plan["sampleGroupingName"] == grouping["displayedName"]
    assert plan["sampleSets"] == [sample_set["resource_uri"]]
    [value] = [v for v in plan["qcValues"] if v["qcType"]["qcName"] == qc["qcName"]]
    assert value["threshold"] == 42
    bad = client.post(API + "plannedexperiment/", json_body={"planName": "x", "sampleGroupingName": "No such"})
    assert bad.status == 400 and "No such" in bad.json()["error"]
