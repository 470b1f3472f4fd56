"""The database and its -wal/-shm files hold API keys: only the server's user may read them."""
from __future__ import annotations

import os
import stat

from conftest import make_settings
from torrentlite.app import build_app
from torrentlite.setup_data import initialize


def test_database_wal_and_shm_are_private_from_the_first_start(tmp_path):
    old = os.umask(0o022)
    try:
        settings = make_settings(tmp_path / "data")
        app = build_app(settings)
        initialize(settings, app.store)
        app.store.db.execute_sql('UPDATE "globalconfig" SET "name" = "name"')
        for suffix in ("", "-wal", "-shm"):
            path = f"{settings.db_path}{suffix}"
            assert os.path.exists(path), path
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, (suffix, oct(os.stat(path).st_mode))
        app.close()
    finally:
        os.umask(old)
