"""Automatic actions: which reports Torrent Suite's rules would archive or delete now, and doing it."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Optional

from torrentlite.datamgmt import actions, state as st
from torrentlite.datamgmt.filesets import SIG, current_filesets
from torrentlite.datamgmt.validate import DmRefused
from torrentlite.store.fields import stored_datetime, utcnow

log = logging.getLogger("torrentlite.datamgmt")

PICKABLE = ("L", "S", "N", "A")
AUTO_COMMENT = "Auto Action"
Usage = Callable[[str], float]


@dataclass
class Planned:
    """One automatic action the rules pick now."""

    result_id: int
    results_name: str
    type: str
    action: str
    reason: str
    destination: str = ""


def partition_usage(path: str) -> float:
    """How full the file system holding `path` is, in percent (as the real server computes it)."""
    stv = os.statvfs(path)
    if not stv.f_blocks:
        return 0.0
    return 100.0 - stv.f_bavail * 100.0 / stv.f_blocks


def switches(db) -> tuple[bool, bool]:
    """(automatic actions enabled, deletes of raw data acknowledged automatically) from globalconfig."""
    row = db.execute_sql('SELECT "auto_archive_enable", "auto_archive_ack" FROM "globalconfig" '
                         'ORDER BY "id" LIMIT 1').fetchone()
    return (bool(row[0]), bool(row[1])) if row else (False, False)


def _storage_paths(db) -> list[str]:
    return [r[0] for r in db.execute_sql('SELECT "dirPath" FROM "reportstorage"').fetchall()
            if r[0] and os.path.isdir(r[0])]


def plan(store, usage: Usage = partition_usage) -> list[Planned]:
    """What the rules pick now: per enabled category, the oldest eligible report (one per category).

    Eligible: state Local/Selected/Notified/Acknowledged, older than the category's age threshold,
    not kept, no plugin running on it; for deletes only while the partition holding the report
    storage is at least the category's usage threshold full. Archives ignore usage, as on Torrent Suite.
    """
    db = store.db
    _enabled, auto_ack = switches(db)
    paths = _storage_paths(db)
    fullest = max((usage(p) for p in paths), default=0.0)
    out: list[Planned] = []
    for type_, fs in current_filesets(db).items():
        if fs.auto_action not in ("ARC", "DEL"):
            continue
        if fs.auto_action == "DEL" and fullest < fs.auto_trigger_usage:
            continue
        cutoff = stored_datetime(utcnow() - timedelta(days=fs.auto_trigger_age))
        rows = db.execute_sql(
            'SELECT s."result_id", s."action_state" FROM "dmfilestat" s '
            'JOIN "dmfileset" f ON f."id" = s."dmfileset_id" '
            'WHERE f."type" = ? AND s."action_state" IN (\'L\', \'S\', \'N\', \'A\') AND s."created" < ? '
            'ORDER BY s."created", s."id"', (type_, cutoff)).fetchall()
        if type_ == SIG and fs.auto_action == "DEL" and not auto_ack:
            # Raw data is deleted automatically only once someone acknowledged it.
            rows = [r for r in rows if r[1] == "A"]
        for result_id, _state in rows:
            report = st.load_report(db, result_id)
            stat = st.filestats(db, result_id).get(type_)
            if report is None or stat is None or st.is_kept(db, stat, report) or st.files_in_use(db, report):
                continue
            action = "archive" if fs.auto_action == "ARC" else "delete"
            reason = (f"older than {fs.auto_trigger_age} days" + ("" if action == "archive" else
                      f", report storage {fullest:.0f}% full (threshold {fs.auto_trigger_usage}%)"))
            out.append(Planned(result_id, report.name, type_, action, reason,
                               fs.backup_directory if action == "archive" else ""))
            break
    return out


NOTIFY_QUEUE = 5  # experiments whose raw data waits for an acknowledgement at once


def select_raw_data(store, usage: Usage = partition_usage) -> list[int]:
    """Without auto-acknowledge, raw data due for deletion is first Selected (5 experiments at a time).

    Someone then acknowledges it (`compositedatamanagement/<pk>/ack/`), and the next check deletes
    it. Returns the reports whose raw data was selected now.
    """
    db = store.db
    _enabled, auto_ack = switches(db)
    fs = current_filesets(db).get(SIG)
    if auto_ack or fs is None or fs.auto_action != "DEL":
        return []
    if max((usage(p) for p in _storage_paths(db)), default=0.0) < fs.auto_trigger_usage:
        return []
    cutoff = stored_datetime(utcnow() - timedelta(days=fs.auto_trigger_age))
    waiting = db.execute_sql(
        'SELECT COUNT(DISTINCT r."experiment_id") FROM "dmfilestat" s JOIN "dmfileset" f ON f."id" = s."dmfileset_id" '
        'JOIN "results" r ON r."id" = s."result_id" WHERE f."type" = ? AND s."action_state" IN (\'S\', \'N\', \'A\')',
        (SIG,)).fetchone()[0]
    rows = db.execute_sql(
        'SELECT s."result_id", r."experiment_id" FROM "dmfilestat" s JOIN "dmfileset" f ON f."id" = s."dmfileset_id" '
        'JOIN "results" r ON r."id" = s."result_id" LEFT JOIN "experiment" e ON e."id" = r."experiment_id" '
        'WHERE f."type" = ? AND s."action_state" = \'L\' AND s."created" < ? AND COALESCE(e."storage_options", \'\') '
        '!= \'KI\' AND COALESCE(e."expDir", \'\') != \'\' ORDER BY s."created", s."id"', (SIG, cutoff)).fetchall()
    picked, experiments = [], set()
    with store.write():
        for result_id, exp_id in rows:
            if exp_id in experiments or len(experiments) >= NOTIFY_QUEUE - waiting:
                continue
            experiments.add(exp_id)
            report = st.load_report(db, result_id)
            stat = st.filestats(db, result_id)[SIG]
            st.set_state(db, stat, report, "S")
            st.log_for(db, stat, report, "Signal Processing Input Selected for Deletion", st.DM_USER)
            picked.append(result_id)
    return picked


def apply(store, usage: Usage = partition_usage) -> list[actions.Action]:
    """Queue what `plan` picks, when automatic actions are enabled; refusals are logged, not retried now."""
    enabled, _ack = switches(store.db)
    if not enabled:
        return []
    select_raw_data(store, usage)
    queued = []
    for item in plan(store, usage):
        try:
            queued.append(actions.request(store, item.result_id, item.type, item.action, user=st.DM_USER,
                                          comment=AUTO_COMMENT, destination=item.destination))
        except DmRefused as exc:
            log.info("automatic %s of %s on %s not started: %s", item.action, item.type, item.results_name, exc)
    return queued


def configure(store, type_: str, *, auto_action: Optional[str] = None, age: Optional[int] = None,
              usage: Optional[int] = None, backup_directory: Optional[str] = None, user: str = "") -> None:
    """Change a category's automatic-action settings (every version of the category, as the real page does)."""
    sets, values = [], []
    if auto_action is not None:
        if auto_action not in ("OFF", "ARC", "DEL"):
            raise DmRefused("auto_action must be OFF, ARC or DEL", status=400)
        sets.append('"auto_action" = ?')
        values.append(auto_action)
    if age is not None:
        if not 0 <= int(age) <= 10000:
            raise DmRefused("the age threshold must be 0-10000 days", status=400)
        sets.append('"auto_trigger_age" = ?')
        values.append(int(age))
    if usage is not None:
        if not 0 <= int(usage) <= 100:
            raise DmRefused("the disk-usage threshold must be 0-100 %", status=400)
        sets.append('"auto_trigger_usage" = ?')
        values.append(int(usage))
    if backup_directory is not None:
        if backup_directory and not os.path.isdir(backup_directory):
            raise DmRefused(f"backup directory {backup_directory} is not a directory", status=400)
        sets.append('"backup_directory" = ?')
        values.append(backup_directory or None)
    if not sets:
        return
    with store.write():
        store.db.execute_sql(f'UPDATE "dmfileset" SET {", ".join(sets)} WHERE "type" = ?', values + [type_])
        text = f"SAVED Data Management Configuration<br><b>{type_}:</b> " + ", ".join(
            f"{s.split(chr(34))[1]}: {v}" for s, v in zip(sets, values)) + "<br>"
        store.db.execute_sql('INSERT INTO "eventlog" ("content_type", "object_pk", "text", "username", "created") '
                             'VALUES (\'dmfileset\', 0, ?, ?, ?)', (text, user or "ION", st.now_text()))


def set_enabled(store, enabled: bool, auto_ack: Optional[bool] = None) -> None:
    with store.write():
        store.db.execute_sql('UPDATE "globalconfig" SET "auto_archive_enable" = ?', (int(enabled),))
        if auto_ack is not None:
            store.db.execute_sql('UPDATE "globalconfig" SET "auto_archive_ack" = ?', (int(auto_ack),))
