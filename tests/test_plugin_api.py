"""Plugin administration over the REST API: install (scratch file or upload), hostile archives, uninstall,
rescan, info, type and lineage."""
import uuid
import zipfile
from pathlib import Path

import pytest

from conftest import Client
from test_plugin_archive import HOSTILE, PLUGIN_PROBLEMS, build
from test_plugin_manager import EXAMPLES, plugin_zip

API = "/rundb/api/v1/plugin/"


def scratch(app) -> Path:
    folder = app.settings.plugins_path / "scratch"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def multipart(filename: str, data: bytes, field="file"):
    boundary = uuid.uuid4().hex
    body = (("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
             "Content-Type: application/zip\r\n\r\n" % (boundary, field, filename)).encode()
            + data + ("\r\n--%s--\r\n" % boundary).encode())
    return body, {"Content-Type": "multipart/form-data; boundary=%s" % boundary}


def install_scratch(client, app, zip_path):
    target = scratch(app) / zip_path.name
    target.write_bytes(zip_path.read_bytes())
    return client.post(API + "install/", json_body={"file": target.name})


def plugin_state(app):
    """What an install may change: plugin rows and the plugins folder (minus the empty scratch dir)."""
    rows = app.store.db.execute_sql('SELECT id, name, version, active FROM "plugin" ORDER BY id').fetchall()
    folder = app.settings.plugins_path
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name not in (".lock", "scratch"))
    return rows, files


def test_install_from_scratch_then_upgrade_and_refusals(client, app, tmp_path):
    response = install_scratch(client, app, plugin_zip(tmp_path / "demo.zip", version="1.0"))
    assert response.status == 202, response.body
    body = response.json()
    assert body["name"] == "Demo" and body["version"] == "1.0" and body["active"] and body["selected"]
    assert not any(scratch(app).iterdir())
    listed = client.get(API, params={"name": "Demo"}).json()
    assert [o["version"] for o in listed["objects"]] == ["1.0"]

    same = install_scratch(client, app, plugin_zip(tmp_path / "demo.zip", version="1.0"))
    assert same.status == 400 and "same version" in same.json()["error"]
    older = install_scratch(client, app, plugin_zip(tmp_path / "demo.zip", version="0.9"))
    assert older.status == 400 and "older" in older.json()["error"]
    assert not any(scratch(app).iterdir())

    newer = install_scratch(client, app, plugin_zip(tmp_path / "demo.zip", version="1.1"))
    assert newer.status == 202 and newer.json()["version"] == "1.1"
    assert (app.settings.plugins_path / "archive" / "Demo" / "1.0").is_dir()
    objects = client.get(API, params={"name": "Demo"}).json()["objects"]
    assert [o["version"] for o in objects] == ["1.1"]


def test_install_multipart_upload(client, app, tmp_path):
    data = plugin_zip(tmp_path / "up.zip", name="Uploaded", version="2.0").read_bytes()
    body, headers = multipart("Uploaded.zip", data)
    response = client.post(API + "install/", data=body, headers=headers)
    assert response.status == 202, response.body
    assert response.json()["name"] == "Uploaded"
    assert (app.settings.plugins_path / "Uploaded" / "Uploaded.py").is_file()
    assert not any(scratch(app).iterdir())


def test_install_example_plugins_through_the_api(client, app, tmp_path):
    for folder in sorted(EXAMPLES.iterdir()):
        archive = tmp_path / (folder.name + ".zip")
        with zipfile.ZipFile(archive, "w") as out:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    out.write(path, str(Path(folder.name) / path.relative_to(folder)))
        response = install_scratch(client, app, archive)
        assert response.status == 202, (folder.name, response.body)
    names = {o["name"] for o in client.get(API, params={"limit": 0}).json()["objects"]}
    assert names == {f.name for f in EXAMPLES.iterdir()}


CASES = [(label, entries) for label, entries, _ in HOSTILE + PLUGIN_PROBLEMS]


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("label,entries", CASES, ids=[c[0] for c in CASES])
def test_hostile_archives_refused_with_nothing_written(client, app, tmp_path, label, entries):
    before = plugin_state(app)
    archive = build(tmp_path / ("%s.zip" % label), entries)
    response = install_scratch(client, app, archive)
    assert response.status == 400, (label, response.body)
    assert response.json()["error"]
    assert plugin_state(app) == before
    assert not any(scratch(app).iterdir())


@pytest.mark.parametrize("name,content,message", [
    ("notzip.zip", b"plain text", "not a readable zip"),
    ("empty.zip", b"", "empty"),
    ("plugin.tar.gz", b"x", "not a .zip"),
    ("plugin.deb", b"x", "Debian"),
])
def test_bad_scratch_files(client, app, name, content, message):
    (scratch(app) / name).write_bytes(content)
    response = client.post(API + "install/", json_body={"file": name})
    assert response.status == 400 and message in response.json()["error"]
    assert not (scratch(app) / name).exists()
    assert plugin_state(app) == ([], [])


@pytest.mark.parametrize("name", ["../torrentlite.sqlite3", "/etc/passwd", "..", "missing.zip", ""])
def test_scratch_name_must_be_a_plain_existing_file(client, app, name):
    response = client.post(API + "install/", json_body={"file": name})
    assert response.status == 400 and response.json()["error"]
    assert (app.settings.data_path / "torrentlite.sqlite3").exists()


def test_install_refused_without_admin(app, anonymous, tmp_path):
    target = scratch(app) / "demo.zip"
    plugin_zip(target)
    assert anonymous.post(API + "install/", json_body={"file": "demo.zip"}).status == 401
    assert target.exists()


def test_uninstall_rescan_info_type_lineage(client, app, anonymous, tmp_path):
    pk = install_scratch(client, app, plugin_zip(
        tmp_path / "demo.zip", extra={"instance.html": "<html></html>", "config.html": "<html></html>"})).json()["id"]

    info = client.get(API + "%d/info/" % pk)
    assert info.status == 200 and info.json()["version"] == "1.0.0" and info.json()["name"] == "Demo"

    kind = client.get(API + "%d/type/" % pk).json()
    assert "Demo.py" in kind["files"] and kind["input"] == "/configure/plugins/plugin/%d/configure/report/" % pk
    both = anonymous.get(API + "set/%d;%d/type/" % (pk, pk))
    assert both.status == 200 and list(both.json()) == [str(pk)]
    assert anonymous.get(API + "set/%d;999/type/" % pk).status == 410

    lineage = client.get(API + "lineage/").json()
    assert lineage["meta"]["total_count"] == 1
    assert lineage["objects"][0]["CurrentVersion"] == "1.0.0"
    assert client.get(API + "lineage/", params={"selected": "false"}).json()["objects"] == []

    assert client.get(API + "%d/rescan_plugin/" % pk).status == 202
    assert client.get(API + "rescan/").status == 202

    gone = client.delete(API + "%d/uninstall/" % pk)
    assert gone.status == 200 and gone.json() == {"Status": True}
    assert not (app.settings.plugins_path / "Demo").exists()
    assert client.get(API, params={"name": "Demo"}).json()["objects"] == []
    assert client.get(API + "%d/info/" % pk).status == 410
    assert client.get(API + "%d/type/" % pk).status == 410
    assert client.delete(API + "999/uninstall/").status == 404


def test_rescan_picks_up_folder_added_by_hand(client, app):
    folder = app.settings.plugins_path / "ByHand"
    folder.mkdir(parents=True)
    (folder / "launch.sh").write_text("#!/bin/bash\nVERSION=\"2.5\"\necho hi\n")
    response = client.get(API + "rescan/")
    assert response.status == 202 and response.json()["added"] == ["ByHand"]
    [obj] = client.get(API, params={"name": "ByHand"}).json()["objects"]
    assert obj["version"] == "2.5" and obj["active"]
    anonymous = Client(app)
    assert anonymous.get(API + "rescan/").status == 401


def test_toggles_and_global_config_are_written_through_the_plugin_resource(client, app):
    response = install_scratch(client, app, plugin_zip(app.settings.plugins_path.parent / "Toggle.zip", "Toggle", "1.0"))
    assert response.status in (201, 202), response.body
    pk = client.get(API, params={"name": "Toggle"}).json()["objects"][0]["id"]
    assert client.patch(f"{API}{pk}/", json_body={"selected": False, "defaultSelected": True}).status == 202
    plugin = client.get(f"{API}{pk}/").json()
    assert plugin["selected"] is False and plugin["defaultSelected"] is True
    assert client.put(f"{API}{pk}/", json_body={"config": {"threshold": 5, "mode": "fast"}}).status == 204
    assert client.get(f"{API}{pk}/").json()["config"] == {"threshold": 5, "mode": "fast"}
    # A disabled plugin is not launched by hand.
    assert client.post("/rundb/api/v1/results/1/plugin/", json_body={"plugin": "Toggle"}).status == 410
