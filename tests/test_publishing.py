"""Publishers: uploads, their editing scripts, and content/register/{upload_id}/."""
from __future__ import annotations

API = "/rundb/api/v1"


def _upload(app, publisher="BED", name="targets.bed"):
    from torrentlite.store.load import insert_row
    with app.store.write():
        pub = insert_row(app.store, "publisher", {"name": publisher, "version": "1.0", "global_meta": "{}",
                                                   "date": "2024-01-01T00:00:00Z", "path": "/nowhere"})
        upload = insert_row(app.store, "contentupload", {"status": "Queued", "meta": "{}", "file_path": ""})
    folder = app.settings.data_path / "uploads" / publisher / str(upload)
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text("chr1\t1\t10\n")
    with app.store.write():
        app.store.db.execute_sql('UPDATE "contentupload" SET file_path = ? WHERE id = ?', (str(path), upload))
    return pub, upload, path


def test_register_creates_content_for_the_upload(app, client):
    pub, upload, path = _upload(app)
    body = {"file": str(path), "path": "/hg19/unmerged/detail/targets.bed", "meta": {"reference": "hg19"},
            "description": "my targets", "type": "target"}
    response = client.post(f"{API}/content/register/{upload}/", json_body=body)
    assert response.status == 202, response.body
    [content] = client.get(f"{API}/content/", params={"contentupload": upload}).json()["objects"]
    assert content["file"] == str(path) and content["path"] == body["path"]
    [publisher] = client.get(f"{API}/publisher/").json()["objects"]
    assert publisher["name"] == "BED" and content["publisher"].rstrip("/").rsplit("/", 1)[1] in ("BED", str(pub))
    assert content["contentupload"] == f"{API}/contentupload/{upload}/"
    assert content["meta"] == {"reference": "hg19", "description": "my targets", "type": "target"}
    assert client.get(f"{API}/contentupload/{upload}/").json()["pub"] == "BED"


def test_register_refuses_bad_input(app, client, anonymous, tmp_path):
    _pub, upload, path = _upload(app)
    outside = tmp_path / "elsewhere.bed"
    outside.write_text("x")
    for body in ({}, {"file": str(outside)}, {"file": str(path) + ".missing"}, {"file": str(path), "meta": [1]},
                 [str(path)]):
        response = client.post(f"{API}/content/register/{upload}/", json_body=body)
        assert response.status == 400 and "error" in response.json(), body
    assert client.post(f"{API}/content/register/999/", json_body={"file": str(path)}).status == 404
    assert anonymous.post(f"{API}/content/register/{upload}/", json_body={"file": str(path)}).status == 401
    assert client.get(f"{API}/content/").json()["objects"] == []
