"""Databases made by earlier releases open with this one: committed files of each schema version, migrated."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from conftest import Client, admin_headers, make_settings
from servers import cli
from torrentlite.app import build_app
from torrentlite.setup_data import initialize
from torrentlite.store.db import SCHEMA_VERSION

DATA = Path(__file__).parent / "data"
RELEASED = sorted(DATA.glob("schema_v*.sqlite3.gz"))


def _unpack(archive: Path, data_dir: Path) -> Path:
    data_dir.mkdir(parents=True)
    with gzip.open(archive) as src, open(data_dir / "torrentlite.sqlite3", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return data_dir


def test_the_first_release_has_a_committed_database():
    # Add schema_v<N>.sqlite3.gz here for each release; a version that only ever lived on the
    # development branch needs none.
    versions = {int(p.name.split("_v")[1].split(".")[0]) for p in RELEASED}
    assert 1 in versions and max(versions) <= SCHEMA_VERSION


@pytest.mark.parametrize("archive", RELEASED, ids=[p.name for p in RELEASED])
def test_old_database_opens_migrates_and_reads_back(archive, tmp_path):
    data = _unpack(archive, tmp_path / "data")
    assert cli("check", "--data-dir", data).returncode == 0
    settings = make_settings(data)
    app = build_app(settings)
    try:
        initialize(settings, app.store)
        assert app.store.schema_version() == SCHEMA_VERSION
        client = Client(app, admin_headers(app))
        results = client.get("/rundb/api/v1/results/?limit=0").json()
        assert results["meta"]["total_count"] == 3
        assert {r["resultsName"] for r in results["objects"]} >= {"Auto_user_PGM01-12-Ecoli_DH10B_control_8"}
        assert client.get("/rundb/api/v1/experiment/?limit=0").json()["meta"]["total_count"] == 10
        assert client.post("/rundb/api/v1/message/", json_body={"body": "after upgrade"}).status == 201
        before = client.get("/rundb/api/v1/globalconfig/").json()["objects"]
        initialize(settings, app.store)  # a second start changes nothing
        assert client.get("/rundb/api/v1/globalconfig/").json()["objects"] == before
    finally:
        app.close()


def test_database_from_a_newer_release_is_refused_clearly(tmp_path):
    data = _unpack(RELEASED[-1], tmp_path / "data")
    import sqlite3

    conn = sqlite3.connect(data / "torrentlite.sqlite3")
    conn.execute('INSERT INTO "schema_version" (version) VALUES (?)', (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    done = cli("user", "list", "--data-dir", data)
    assert done.returncode == 2 and "Upgrade torrentlite" in done.stderr and "Traceback" not in done.stderr
    assert cli("check", "--data-dir", data).returncode == 1
