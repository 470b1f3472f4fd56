"""Copies of the database that are consistent while a server writes to it, and checks of such copies."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable, Optional

from torrentlite.store.db import SCHEMA_VERSION

PAGES_PER_STEP = 4096
MAX_RESTARTS = 3


class BackupError(Exception):
    """The copy cannot be made, or a copy is not fit to restore."""


def copy_database(source: Path, target: Path, progress: Optional[Callable[[int, int], None]] = None) -> None:
    """Copy `source` (with whatever its WAL holds) to a new file `target` with SQLite's online backup API.

    Steps of PAGES_PER_STEP pages report progress; writers never wait. A write by another
    connection restarts a stepped copy, so after MAX_RESTARTS restarts the rest is copied in one
    step, inside one read transaction (a snapshot; writers still never wait in WAL mode).
    """
    if target.exists():
        raise BackupError(f"{target} already exists")
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target))
    seen = {"remaining": None, "restarts": 0}

    class _Restart(Exception):
        pass

    def step(status, remaining, total):
        if seen["remaining"] is not None and remaining > seen["remaining"]:
            seen["restarts"] += 1
            if seen["restarts"] >= MAX_RESTARTS:
                raise _Restart()
        seen["remaining"] = remaining
        if progress:
            progress(total - remaining, total)

    try:
        try:
            src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        except _Restart:
            src.backup(dst, pages=-1)
            if progress:
                total = dst.execute("PRAGMA page_count").fetchone()[0]
                progress(total, total)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.DatabaseError as exc:
        dst.close()
        target.unlink(missing_ok=True)
        raise BackupError(f"cannot copy {source}: {exc}") from None
    finally:
        src.close()
    dst.close()
    os.chmod(target, 0o600)


def verify_database(path: Path) -> int:
    """Integrity check and schema version of a database copy; returns the version.

    :raises BackupError: not a database, damaged, or from a newer torrentlite.
    """
    if not path.is_file():
        raise BackupError(f"{path} is not a database file" if path.exists() else f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
            if result != ["ok"]:
                raise BackupError(f"{path} is damaged: {'; '.join(result)}")
            try:
                version = conn.execute('SELECT MAX(version) FROM "schema_version"').fetchone()[0] or 0
            except sqlite3.DatabaseError:
                raise BackupError(f"{path} is an SQLite database but not a torrentlite one") from None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from None
    if not 1 <= version <= SCHEMA_VERSION:
        raise BackupError(f"{path} has schema version {version}; this torrentlite restores versions 1 to "
                          f"{SCHEMA_VERSION}")
    return version
