"""`torrentlite check`: is this data directory sound? Database, schema, folders, files, disk space."""
from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from torrentlite.store.db import SCHEMA_VERSION
from torrentlite.store.paths import report_dir
from torrentlite.store import rowcounts
from torrentlite.store.search import SEARCHED, index_name

LOW_DISK_BYTES = 2 * 1024 ** 3   # below this much free space a sequencing run's report does not fit
LOW_DISK_FRACTION = 0.05
SHOWN = 10                        # names listed per finding; the rest are counted


@dataclass
class Finding:
    level: str          # "ok", "warning" or "problem"
    topic: str
    message: str
    items: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.level.upper():8} {self.topic}: {self.message}"]
        out += [f"         - {item}" for item in self.items[:SHOWN]]
        if len(self.items) > SHOWN:
            out.append(f"         … and {len(self.items) - SHOWN} more")
        return out


def database_findings(db_path: Path) -> tuple[list[Finding], sqlite3.Connection | None]:
    """Integrity and schema version; the open connection when the file is a usable database."""
    if not db_path.is_file():
        return [Finding("problem", "database", f"{db_path} does not exist")], None
    try:
        conn = sqlite3.connect(str(db_path), timeout=30)
        result = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
    except sqlite3.DatabaseError as exc:
        return [Finding("problem", "database", f"{db_path.name} is not a readable SQLite database: {exc}")], None
    out = []
    if result != ["ok"]:
        out.append(Finding("problem", "database", "integrity check failed", result))
    else:
        out.append(Finding("ok", "database", "integrity check passed"))
    fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    if fk:
        out.append(Finding("problem", "database", f"{len(fk)} row(s) point at rows that do not exist",
                           [f"{table} row {rowid} -> {parent}" for table, rowid, parent, _ in fk]))
    out += search_index_findings(conn)
    out += row_count_findings(conn)
    try:
        version = conn.execute('SELECT MAX(version) FROM "schema_version"').fetchone()[0] or 0
    except sqlite3.DatabaseError:
        version = 0
    if version == SCHEMA_VERSION:
        out.append(Finding("ok", "schema", f"version {version} (current)"))
    elif 0 < version < SCHEMA_VERSION:
        out.append(Finding("warning", "schema", f"version {version}; the next start migrates it to {SCHEMA_VERSION}"))
    else:
        out.append(Finding("problem", "schema", f"version {version}; this torrentlite understands 1 to "
                           f"{SCHEMA_VERSION}"))
        return out, None
    return out, conn


def _search_indexes(conn: sqlite3.Connection) -> list[str]:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [index_name(t) for t in SEARCHED if index_name(t) in names]


def search_index_findings(conn: sqlite3.Connection) -> list[Finding]:
    """The trigram search indexes agree with their tables (their triggers keep them so)."""
    bad = []
    for fts in _search_indexes(conn):
        try:
            # rank 1: also compare the index with the table it indexes (external content)
            conn.execute(f'INSERT INTO "{fts}"("{fts}", rank) VALUES (\'integrity-check\', 1)')
        except sqlite3.DatabaseError as exc:
            bad.append(f"{fts}: {exc}")
    if bad:
        return [Finding("problem", "search indexes", "out of step with their tables; "
                        "`torrentlite check --rebuild-indexes` rebuilds them", bad)]
    return []


def row_count_findings(conn: sqlite3.Connection) -> list[Finding]:
    """The row counts kept for unfiltered lists' `total_count` agree with their tables."""
    try:
        wrong = rowcounts.drifted(conn.execute)
    except sqlite3.OperationalError:  # a file from before the counts were kept
        return []
    if wrong:
        return [Finding("problem", "row counts", "out of step with their tables; "
                        "`torrentlite check --rebuild-indexes` counts them again",
                        [f"{name}: kept {kept}, has {actual}" for name, kept, actual in wrong])]
    return []


def rebuild_search_indexes(db_path: Path) -> list[str]:
    """Rebuild every trigram search index from its table, and count the rows again; returns the
    indexes' names."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        with conn:
            names = _search_indexes(conn)
            for fts in names:
                conn.execute(f'INSERT INTO "{fts}"("{fts}") VALUES (\'rebuild\')')
            try:
                rowcounts.recount(conn.execute)
            except sqlite3.OperationalError:  # a file from before the counts were kept
                pass
        return names
    finally:
        conn.close()


def folder_findings(conn: sqlite3.Connection, data_path: Path) -> list[Finding]:
    """Rows naming folders that are gone, and folders no row names."""
    out = []
    storages = {r[0]: {"dirPath": r[1], "webServerPath": r[2]}
                for r in conn.execute('SELECT id, "dirPath", "webServerPath" FROM "reportstorage"')}
    reports = {}
    for pk, name, link, storage in conn.execute(
            'SELECT id, "resultsName", "reportLink", reportstorage_id FROM "results"'):
        folder = report_dir(storages.get(storage), link or "")
        if folder:
            reports[os.path.normpath(folder)] = f"results {pk} ({name})"
    missing = [f"{who}: {folder}" for folder, who in sorted(reports.items()) if not os.path.isdir(folder)]
    out.append(Finding("warning", "reports", f"{len(missing)} report(s) whose folder is missing", missing)
               if missing else Finding("ok", "reports", f"{len(reports)} report folder(s) present"))
    known, orphans = set(reports), []
    for base in sorted({os.path.normpath(s["dirPath"]) for s in storages.values() if s["dirPath"]}):
        for location in _subdirs(base):
            orphans += [d for d in _subdirs(location) if d not in known]
    if orphans:
        out.append(Finding("warning", "reports", f"{len(orphans)} report folder(s) that no report row names",
                           orphans))
    plugins = data_path / "plugins"
    rows = conn.execute('SELECT name, version, path FROM "plugin" WHERE active = 1').fetchall()
    gone = [f"{name} {version}: {path}" for name, version, path in rows if not path or not os.path.isdir(path)]
    out.append(Finding("problem", "plugins", f"{len(gone)} active plugin(s) whose folder is missing", gone)
               if gone else Finding("ok", "plugins", f"{len(rows)} active plugin folder(s) present"))
    used = {os.path.normpath(r[0]) for r in conn.execute('SELECT path FROM "plugin"') if r[0]}
    stray = [d for d in _subdirs(str(plugins)) if d not in used and os.path.basename(d) != "scratch"]
    if stray:
        out.append(Finding("warning", "plugins", f"{len(stray)} folder(s) in plugins/ that no plugin row names "
                           "(`torrentlite plugin rescan` records them)", stray))
    return out


def disk_findings(data_path: Path) -> list[Finding]:
    usage = shutil.disk_usage(data_path)
    free_gb = usage.free / 1024 ** 3
    text = f"{free_gb:.1f} GiB free of {usage.total / 1024 ** 3:.1f} GiB"
    if usage.free < LOW_DISK_BYTES or usage.free < usage.total * LOW_DISK_FRACTION:
        return [Finding("warning", "disk", f"low on space: {text}")]
    return [Finding("ok", "disk", text)]


def _subdirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return sorted(os.path.normpath(e.path) for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def check(data_path: Path, db_path: Path) -> list[Finding]:
    findings, conn = database_findings(db_path)
    if conn is not None:
        try:
            findings += folder_findings(conn, data_path)
        except sqlite3.DatabaseError as exc:
            findings.append(Finding("problem", "database", f"cannot read the rows: {exc}"))
        finally:
            conn.close()
    findings += disk_findings(data_path)
    return findings
