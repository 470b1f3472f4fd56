"""First start of a data directory: folders, schema, reference data, default users, demo runs."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torrentlite.datamgmt import filesets as dm_filesets
from torrentlite.datamgmt import state as dm_state
from torrentlite.runner import publishers
from torrentlite.runner.manager import PluginManager
from torrentlite.settings import Settings
from torrentlite.store import demo, reference
from torrentlite.store.db import Store, create_private
from torrentlite.store.load import load_rows
from torrentlite.store.users import Users


DEMO_PLUGINS = Path(__file__).resolve().parent / "data" / "demo_plugins"


@dataclass
class InitReport:
    created_schema: bool
    created_users: bool
    loaded_reference: int
    loaded_demo: int


def _has_rows(store: Store, table: str) -> bool:
    return store.db.execute_sql(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None


def prepare_folders(settings: Settings) -> None:
    for path in (settings.data_path, settings.plugins_path, settings.results_path, settings.logs_path):
        path.mkdir(parents=True, exist_ok=True)
    # The database holds API keys; only the server's own user should read it.
    os.chmod(settings.data_path, 0o700)
    create_private(str(settings.db_path))


def initialize(settings: Settings, store: Store, *, demo_data: bool = False) -> InitReport:
    """Idempotent: a second call on the same data directory changes nothing."""
    prepare_folders(settings)
    found = store.migrate()
    for path in (str(settings.db_path), f"{settings.db_path}-wal", f"{settings.db_path}-shm"):
        if os.path.exists(path):  # data directories made before the file was created private
            os.chmod(path, 0o600)
    users = Users(store)
    created_users = users.ensure_defaults()
    loaded_ref = 0
    if not _has_rows(store, "globalconfig"):
        loaded_ref = load_rows(store, reference.reference_rows(settings.results_path))
    publishers.scan(store, settings.data_path)
    with store.write():
        dm_filesets.ensure_filesets(store.db)
        dm_state.ensure_filestats(store.db)
    loaded_demo = 0
    if demo_data and not _has_rows(store, "results"):
        demo.write_demo_folders(settings.results_path, settings.data_path)
        loaded_demo = load_rows(store, demo.demo_rows(settings.results_path, settings.data_path,
                                                      publisher_id(store, "BED")))
        for result_id in dm_state.stale_reports(store.db, limit=1000):
            dm_state.measure(store, result_id)
        if settings.get("demo_plugins", True):
            install_demo_plugins(store, settings)
    return InitReport(found == 0, created_users, loaded_ref, loaded_demo)


def publisher_id(store: Store, name: str) -> int:
    """The id of a publisher row (the shipped ones are installed before the demo loads)."""
    row = store.db.execute_sql('SELECT id FROM "publisher" WHERE name = ?', (name,)).fetchone()
    if row is None:
        raise RuntimeError(f"no {name} publisher installed")
    return int(row[0])


def install_demo_plugins(store: Store, settings: Settings) -> list[dict]:
    """Install the demo plugins (the ones the demo plans select) through the plugin manager."""
    manager = PluginManager(store, settings.plugins_path)
    return [manager.install_dir(folder) for folder in sorted(DEMO_PLUGINS.iterdir()) if folder.is_dir()]


def launch_demo_plugins(store: Store, scheduler) -> int:
    """Queue every report's plan-selected plugins (the demo's first run); returns how many jobs were queued."""
    queued = 0
    for (pk,) in store.db.execute_sql('SELECT id FROM "results" ORDER BY id').fetchall():
        queued += len(scheduler.launch_pipeline(pk))
    return queued
