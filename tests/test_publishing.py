"""Publishers: uploads, their editing scripts, and content/register/{upload_id}/."""
from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from conftest import admin_headers
from served import served  # noqa: F401  (a fixture)

API = "/rundb/api/v1"


def _upload(app, publisher="BED", name="targets.bed"):
    from torrentlite.store.load import insert_row
    with app.store.write():
        upload = insert_row(app.store, "contentupload", {"status": "Queued", "meta": "{}", "file_path": ""})
    folder = app.settings.data_path / "uploads" / publisher / str(upload)
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text("chr1\t1\t10\n")
    with app.store.write():
        app.store.db.execute_sql('UPDATE "contentupload" SET file_path = ? WHERE id = ?', (str(path), upload))
    return upload, path


def test_register_creates_content_for_the_upload(app, client):
    upload, path = _upload(app)
    body = {"file": str(path), "path": "/hg19/unmerged/detail/targets.bed", "meta": {"reference": "hg19"},
            "description": "my targets", "type": "target"}
    response = client.post(f"{API}/content/register/{upload}/", json_body=body)
    assert response.status == 202, response.body
    [content] = client.get(f"{API}/content/", params={"contentupload": upload}).json()["objects"]
    assert content["file"] == str(path) and content["path"] == body["path"]
    assert content["publisher"] == f"{API}/publisher/BED/"
    assert content["contentupload"] == f"{API}/contentupload/{upload}/"
    assert content["meta"] == {"reference": "hg19", "description": "my targets", "type": "target"}
    assert client.get(f"{API}/contentupload/{upload}/").json()["pub"] == "BED"


def test_register_refuses_bad_input(app, client, anonymous, tmp_path):
    before = client.get(f"{API}/content/").json()["objects"]  # the demo panel's BED files
    upload, path = _upload(app)
    outside = tmp_path / "elsewhere.bed"
    outside.write_text("x")
    for body in ({}, {"file": str(outside)}, {"file": str(path) + ".missing"}, {"file": str(path), "meta": [1]},
                 [str(path)]):
        response = client.post(f"{API}/content/register/{upload}/", json_body=body)
        assert response.status == 400 and "error" in response.json(), body
    assert client.post(f"{API}/content/register/999/", json_body={"file": str(path)}).status == 404
    assert anonymous.post(f"{API}/content/register/{upload}/", json_body={"file": str(path)}).status == 401
    assert client.get(f"{API}/content/").json()["objects"] == before




def _publish(url, app, publisher, name, data, meta):
    response = requests.post(f"{url}/rundb/publish/api/{publisher}/", headers=admin_headers(app),
                             files={"file": (name, data)}, data={"meta": json.dumps(meta)}, timeout=30)
    assert response.status_code == 200, response.text
    upload = response.json()
    assert upload["pub"] == publisher and upload["file_path"].endswith("/" + name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.get(f"{url}{upload['resource_uri']}", headers=admin_headers(app), timeout=10).json()
        if status["status"] == "Successfully Completed" or status["status"].startswith("Error"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"upload {upload['id']} still {status['status']}")


def _contents(url, app, upload):
    return requests.get(f"{url}{API}/content/", params={"contentupload": upload, "limit": 0},
                        headers=admin_headers(app), timeout=10).json()["objects"]


def test_the_shipped_publishers_are_installed(client):
    names = {p["name"] for p in client.get(f"{API}/publisher/").json()["objects"]}
    assert {"BED", "refAnnot"} <= names


def test_bed_upload_is_validated_and_registered(app, served):
    bed = "track name=panel type=bedDetail\nchr1\t100\t200\tAMP1\tGENE_ID=A\nchr1\t150\t260\tAMP2\tGENE_ID=B\n" \
          "chr2\t10\t20\tAMP3\tGENE_ID=C\n"
    status = _publish(served, app, "BED", "panel.bed", bed, {"reference": "hg19", "hotspot": False})
    assert status["status"] == "Successfully Completed", status
    assert status["meta"]["num_targets"] == 3 and status["meta"]["num_bases"] == 170
    contents = _contents(served, app, status["id"])
    assert sorted(c["path"] for c in contents) == [f"/hg19/{k}/panel.bed" for k in
                                                   ("merged/detail", "merged/plain", "unmerged/detail",
                                                    "unmerged/plain")]
    merged = next(c for c in contents if c["path"] == "/hg19/merged/plain/panel.bed")
    assert Path(merged["file"]).read_text() == "chr1\t100\t260\nchr2\t10\t20\n"
    assert all(c["meta"]["type"] == "target" for c in contents)


def test_bed_publisher_runs_in_the_legacy_environment_too(app, served):
    from legacy import cached_env, link_env, python2_or_skip
    link_env(app.settings.data_path, cached_env(python2_or_skip()))
    status = _publish(served, app, "BED", "hot.bed", "chr3\t5\t6\tH1\n", {"reference": "hg19", "hotspot": True})
    assert status["status"] == "Successfully Completed", status
    assert {c["meta"]["type"] for c in _contents(served, app, status["id"])} == {"hotspot"}
    log = next((app.settings.data_path / "uploads" / "BED").glob("*/publisher.log")).read_text()
    assert "validated hot.bed" in log


def test_invalid_bed_ends_in_an_error_and_registers_nothing(app, served):
    status = _publish(served, app, "BED", "bad.bed", "chr1\t300\t200\n", {"reference": "hg19"})
    assert status["status"] == "Error: region 1 (chr1) has an invalid start or end"
    assert _contents(served, app, status["id"]) == []
    status = _publish(served, app, "BED", "panel.bed", "chr1\t1\t2\n", {})
    assert status["status"].startswith("Error: the upload's meta needs the short name of its reference")


def test_refannot_upload_is_registered(app, served):
    status = _publish(served, app, "refAnnot", "genes.gtf", "chr1\tsrc\tgene\t1\t10\t.\t+\t.\tgene_id \"A\";\n",
                      {"reference": "hg19", "description": "genes"})
    assert status["status"] == "Successfully Completed", status
    [content] = _contents(served, app, status["id"])
    assert content["path"] == "/hg19/genes.gtf"
    assert content["meta"]["type"] == "Annotation" and content["meta"]["file_type"] == "GTF"


def test_upload_refuses_bad_requests(app, served):
    url = f"{served}/rundb/publish/api/BED/"
    assert requests.post(url, files={"file": ("a.bed", "x")}, timeout=10).status_code == 401
    assert requests.post(f"{served}/rundb/publish/api/Nope/", headers=admin_headers(app),
                         files={"file": ("a.bed", "x")}, timeout=10).status_code == 404
    for kwargs in ({"data": {"meta": "{}"}}, {"files": {"file": ("a.bed", "x")}, "data": {"meta": "[1"}}):
        response = requests.post(url, headers=admin_headers(app), timeout=10, **kwargs)
        assert response.status_code == 400 and "error" in response.json()
