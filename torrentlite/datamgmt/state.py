"""Per-report category state rows (DMFileStat): states, keep flags, disk space, files in use, history."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from torrentlite.datamgmt.filesets import BASE, INTR, OUT, SIG, FileSet, fileset_by_id
from torrentlite.datamgmt.selection import Selection, ignores_onboard, select
from torrentlite.store.fields import stored_datetime, utcnow
from torrentlite.store.paths import report_dir as storage_report_dir

STATE_DISPLAY = {
    "L": "Local", "S": "Selected", "N": "Notified", "A": "Acknowledged", "SA": "Archive Pending",
    "SE": "Export Pending", "SD": "Delete Pending", "AG": "Archiving", "DG": "Deleting", "EG": "Exporting",
    "AD": "Archived", "DD": "Deleted", "IG": "Importing", "E": "Error",
}
DISPOSED = frozenset({"AG", "DG", "AD", "DD"})
ARCHIVED = frozenset({"AG", "AD"})
IN_PROCESS = frozenset({"AG", "DG", "EG", "SA", "SE", "SD", "IG"})
DM_USER = "dm_agent"
MIB = 1024 * 1024


def now_text() -> str:
    return stored_datetime(utcnow())


@dataclass
class Report:
    """What data management needs of a report and its experiment."""

    id: int
    name: str
    report_dir: str
    exp_id: Optional[int]
    exp_dir: str
    exp_name: str
    storage_options: str
    thumbnail: bool
    created: str


def load_report(db, result_id: int) -> Optional[Report]:
    row = db.execute_sql(
        'SELECT r."id", r."resultsName", r."reportLink", r."metaData", r."timeStamp", e."id", e."expDir", '
        'e."expName", e."storage_options", s."webServerPath", s."dirPath" FROM "results" r '
        'LEFT JOIN "experiment" e ON e."id" = r."experiment_id" '
        'LEFT JOIN "reportstorage" s ON s."id" = r."reportstorage_id" WHERE r."id" = ?', (result_id,)).fetchone()
    if row is None:
        return None
    try:
        meta = json.loads(row[3] or "{}")
    except ValueError:
        meta = {}
    storage = {"webServerPath": row[9], "dirPath": row[10]} if row[10] else None
    return Report(row[0], row[1] or "", storage_report_dir(storage, row[2] or ""), row[5], row[6] or "",
                  row[7] or "", row[8] or "", bool(isinstance(meta, dict) and meta.get("thumb")), row[4] or "")


@dataclass
class FileStat:
    """One dmfilestat row with its file set."""

    id: int
    result_id: int
    fileset: FileSet
    action_state: str
    archivepath: str
    diskspace: Optional[float]
    files_in_use: str
    preserve_data: bool
    created: str
    user_comment: dict

    @property
    def type(self) -> str:
        return self.fileset.type

    @property
    def display(self) -> str:
        return STATE_DISPLAY.get(self.action_state, self.action_state)


_STAT_COLUMNS = ('"id", "result_id", "dmfileset_id", "action_state", "archivepath", "diskspace", "files_in_use", '
                 '"preserve_data", "created", "user_comment"')


def _stat(db, row, filesets: dict) -> FileStat:
    fs = filesets.get(row[2]) or fileset_by_id(db, row[2])
    filesets[row[2]] = fs
    try:
        comment = json.loads(row[9] or "{}")
    except ValueError:
        comment = {}
    return FileStat(row[0], row[1], fs, row[3], row[4] or "", row[5], row[6] or "", bool(row[7]), row[8], comment)


def filestats(db, result_id: int) -> dict[str, FileStat]:
    """The report's rows by category type."""
    rows = db.execute_sql(f'SELECT {_STAT_COLUMNS} FROM "dmfilestat" WHERE "result_id" = ?', (result_id,)).fetchall()
    cache: dict = {}
    stats = [_stat(db, r, cache) for r in rows]
    return {s.type: s for s in stats}


def filestats_for(db, result_ids: list[int]) -> dict[int, dict[str, FileStat]]:
    out: dict[int, dict[str, FileStat]] = {}
    cache: dict = {}
    for start in range(0, len(result_ids), 500):
        chunk = result_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute_sql(f'SELECT {_STAT_COLUMNS} FROM "dmfilestat" WHERE "result_id" IN ({marks})',
                                  chunk).fetchall():
            stat = _stat(db, row, cache)
            out.setdefault(stat.result_id, {})[stat.type] = stat
    return out


def ensure_filestats(db) -> int:
    """Give every report without them its rows of the current categories (older databases, imports)."""
    cursor = db.execute_sql(
        'INSERT OR IGNORE INTO "dmfilestat" ("result_id", "dmfileset_id", "created") '
        'SELECT r."id", fs."id", COALESCE(r."timeStamp", ?) '
        'FROM "results" r CROSS JOIN "dmfileset" fs WHERE fs."current" = 1 AND NOT EXISTS '
        '(SELECT 1 FROM "dmfilestat" s JOIN "dmfileset" f2 ON f2."id" = s."dmfileset_id" '
        'WHERE s."result_id" = r."id" AND f2."type" = fs."type")', (now_text(),))
    return cursor.rowcount if hasattr(cursor, "rowcount") and cursor.rowcount and cursor.rowcount > 0 else 0


def is_kept(db, stat: FileStat, report: Report) -> bool:
    """The Keep flag: the experiment's storage option for raw data, the row's own flag otherwise."""
    if stat.type == SIG:
        return report.storage_options == "KI"
    return stat.preserve_data


def search_dirs(stat: FileStat, report: Report) -> list[str]:
    """Where the category's files are: the archive copy once archived, else the report and raw-data folders."""
    if stat.action_state in ARCHIVED:
        return [stat.archivepath] if stat.archivepath else []
    return [d for d in (report.report_dir, report.exp_dir) if d]


def keep_patterns(stats: dict[str, FileStat], stat: FileStat) -> list[str]:
    """Files shared with another category stay while that category still holds its files locally."""
    out: list[str] = []
    for other_type, patterns in stat.fileset.keepwith.items():
        other = stats.get(other_type)
        if other is not None and other.action_state not in DISPOSED:
            out.extend(patterns)
    return out


def selection(stats: dict[str, FileStat], stat: FileStat, report: Report, *, action: str = "",
              dirs: Optional[list] = None) -> Selection:
    keep = keep_patterns(stats, stat) if action in ("archive", "delete") else ()
    return select(stat.fileset, search_dirs(stat, report) if dirs is None else dirs,
                  ignore_onboard=ignores_onboard(report.report_dir, report.thumbnail),
                  for_delete=action == "delete", keep_patterns=keep)


def measure(store, result_id: int) -> dict[str, Optional[float]]:
    """Measure every category of a report from its files and store the MiB figures (one short write)."""
    db = store.db
    report = load_report(db, result_id)
    stats = filestats(db, result_id)
    sizes: dict[str, Optional[float]] = {}
    if report is None:
        return sizes
    for type_, stat in stats.items():
        if stat.action_state == "DD" or (stat.action_state in ARCHIVED and not stat.archivepath):
            sizes[type_] = stat.diskspace
            continue
        try:
            # Archived data is measured where it stays locally: nothing of the category but kept files.
            sizes[type_] = selection(stats, stat, report).size_bytes() / MIB if stat.action_state not in ARCHIVED \
                else stat.diskspace
        except OSError:
            sizes[type_] = None
    with store.write():
        store_sizes(db, report, stats, sizes)
    return sizes


def store_sizes(db, report: Report, stats: dict[str, FileStat], sizes: dict) -> None:
    for type_, size in sizes.items():
        db.execute_sql('UPDATE "dmfilestat" SET "diskspace" = ?, "stale" = 0 WHERE "id" = ?',
                       (size, stats[type_].id))
    # Disk usage counts what is still on this disk: archived and deleted categories count nothing.
    local = {t: (0 if stats[t].action_state in DISPOSED else int(size or 0)) for t, size in sizes.items()}
    db.execute_sql('UPDATE "results" SET "diskusage" = ? WHERE "id" = ?',
                   (sum(local.get(t, 0) for t in (BASE, OUT, INTR)), report.id))
    if report.exp_id is not None and SIG in sizes:
        db.execute_sql('UPDATE "experiment" SET "diskusage" = ? WHERE "id" = ?', (local[SIG], report.exp_id))


def stale_reports(db, limit: int = 50, skip=()) -> list[int]:
    """Reports whose sizes need measuring again (new, or a plugin job changed their folder), newest first;
    none of ``skip``."""
    skip = list(skip)
    unless = f' AND "result_id" NOT IN ({",".join("?" * len(skip))})' if skip else ""
    rows = db.execute_sql(f'SELECT DISTINCT "result_id" FROM "dmfilestat" WHERE "stale" = 1{unless} '
                          'ORDER BY "result_id" DESC LIMIT ?', (*skip, limit)).fetchall()
    return [r[0] for r in rows]


_JOBS_OF_REPORTS = ('SELECT DISTINCT p."result_id" FROM "PluginResultJob" j JOIN "pluginresult" p '
                    'ON p."id" = j."plugin_result_id" WHERE j."state" IN (\'Pending\', \'Queued\', \'Started\') '
                    'AND p."result_id" IN ({})')


def busy_reports(db, result_ids) -> list[int]:
    """Those of ``result_ids`` with plugin jobs queued or running: their folders are still changing."""
    ids = list(result_ids)
    if not ids:
        return []
    return [r[0] for r in db.execute_sql(_JOBS_OF_REPORTS.format(",".join("?" * len(ids))), ids).fetchall()]


def files_in_use(db, report: Report) -> str:
    """Why the report's files cannot be moved now ("" when free): plugin jobs queued or running on it."""
    return f"plugins running on {report.name} ({report.id})" if busy_reports(db, [report.id]) else ""


def log_event(db, result_id: int, text: str, username: str) -> None:
    """A data-management history line on the report (the `datamanagementhistory/` resource)."""
    db.execute_sql('INSERT INTO "eventlog" ("content_type", "object_pk", "text", "username", "created") '
                   'VALUES (\'results\', ?, ?, ?, ?)', (result_id, text, username or "ION", now_text()))


def log_for(db, stat: FileStat, report: Report, text: str, username: str) -> None:
    """Log on the report; raw data's lines go to every report of the experiment, as its state does."""
    for pk in (sibling_reports(db, report) if stat.type == SIG else [report.id]):
        log_event(db, pk, text, username)


def set_state(db, stat: FileStat, report: Report, state: str, *, archivepath: Optional[str] = None,
              diskspace: Optional[float] = None, user_comment: Optional[dict] = None) -> None:
    """Change a row's state; raw data belongs to the experiment, so every report's SIG row follows."""
    sets, values = ['"action_state" = ?'], [state]
    if archivepath is not None:
        sets.append('"archivepath" = ?')
        values.append(archivepath or None)
    if diskspace is not None:
        sets.append('"diskspace" = ?')
        values.append(diskspace)
    if user_comment is not None:
        sets.append('"user_comment" = ?')
        values.append(json.dumps(user_comment))
    if stat.type == SIG and report.exp_id is not None:
        db.execute_sql(f'UPDATE "dmfilestat" SET {", ".join(sets)} WHERE "dmfileset_id" IN '
                       f'(SELECT "id" FROM "dmfileset" WHERE "type" = ?) AND "result_id" IN '
                       f'(SELECT "id" FROM "results" WHERE "experiment_id" = ?)', values + [SIG, report.exp_id])
    else:
        db.execute_sql(f'UPDATE "dmfilestat" SET {", ".join(sets)} WHERE "id" = ?', values + [stat.id])


def sibling_reports(db, report: Report) -> list[int]:
    if report.exp_id is None:
        return [report.id]
    return [r[0] for r in db.execute_sql('SELECT "id" FROM "results" WHERE "experiment_id" = ?',
                                         (report.exp_id,)).fetchall()]


def set_keep(db, report: Report, stat: FileStat, keep: bool, username: str) -> None:
    """Mark a category exempt from automatic actions (raw data: the experiment's storage option)."""
    if stat.type == SIG:
        if report.exp_id is not None:
            db.execute_sql('UPDATE "experiment" SET "storage_options" = ? WHERE "id" = ?',
                           ("KI" if keep else "D", report.exp_id))
    else:
        db.execute_sql('UPDATE "dmfilestat" SET "preserve_data" = ? WHERE "id" = ?', (int(keep), stat.id))
    text = f"{stat.type} marked exempt from auto-action" if keep else f"{stat.type} no longer exempt from auto-action"
    log_for(db, stat, report, text, username)

