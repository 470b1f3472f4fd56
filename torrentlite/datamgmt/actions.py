"""Archive, export and delete: accept a request, then run it crash-safely from the action journal.

An action's files are first copied (each to a temporary name, flushed to disk, then renamed), the
journal then records that the copy is complete, and only then are sources removed. A restart finds
the journal's phase and resumes: copying again is harmless, and removal only removes a source whose
copy is in place. Nothing is removed without a record that says its copy exists.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Optional

from torrentlite.datamgmt import state as st
from torrentlite.datamgmt.filesets import BY_NAME, VERSION
from torrentlite.datamgmt.selection import file_size
from torrentlite.datamgmt.validate import ACTIONS, DmRefused, check, destination_dir

log = logging.getLogger("torrentlite.datamgmt")

PENDING = {"archive": "SA", "export": "SE", "delete": "SD"}
RUNNING = {"archive": "AG", "export": "EG", "delete": "DG"}
VERB = {"archive": ("Archiving", "archived"), "export": ("Exporting", "exported"), "delete": ("Deleting", "deleted")}
PART = ".tlpart"
Progress = Callable[[int, int], None]


@dataclass
class Action:
    """A row of the action journal."""

    id: int
    filestat_id: int
    action: str
    destination: str
    username: str
    comment: str
    phase: str
    total_bytes: int
    done_bytes: int
    error: str
    created: str
    result_id: int = 0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("id", "result_id", "action", "destination", "username", "comment",
                                                "phase", "total_bytes", "done_bytes", "error", "created")}


_ACTION_SQL = ('SELECT a."id", a."filestat_id", a."action", a."destination", a."username", a."comment", a."phase", '
               'a."total_bytes", a."done_bytes", a."error", a."created", s."result_id" FROM "dmaction" a '
               'JOIN "dmfilestat" s ON s."id" = a."filestat_id"')


def actions(db, where: str = "", params=()) -> list[Action]:
    return [Action(*row) for row in db.execute_sql(f'{_ACTION_SQL} {where}', params).fetchall()]


def category(name: str) -> str:
    """A category type from any of its names (type, prefix, slug-ish short name)."""
    found = BY_NAME.get(str(name).strip().lower()) or BY_NAME.get(str(name).strip())
    if found is None:
        raise DmRefused(f"Unknown category {name!r}: use one of sigproc, basecall, output, misc", status=400)
    return found


def request(store, result_id: int, type_: str, action: str, *, user: str, comment: str = "",
            destination: str = "", confirmed: bool = False, check_only: bool = False) -> Optional[Action]:
    """Validate and queue one action on one category of a report (raises DmRefused).

    With `check_only`, validate and change nothing (returns None).
    """
    if action not in ACTIONS:
        raise DmRefused(f"Unknown action {action!r}: use archive, export or delete", status=400)
    db = store.db
    with store.write():
        report = st.load_report(db, result_id)
        if report is None:
            raise DmRefused(f"There is no report {result_id}", status=404)
        stats = st.filestats(db, result_id)
        stat = stats.get(type_)
        if stat is None:
            raise DmRefused(f"Report {report.name} has no {type_} files on record", status=404)
        backup = destination or stat.fileset.backup_directory
        kept = st.is_kept(db, stat, report)
        check(action, stat, report, kept=kept, in_use=st.files_in_use(db, report), confirmed=confirmed,
              backup=backup)
        if check_only:
            return None
        if kept and action == "archive":
            st.set_keep(db, report, stat, False, user)
        if action == "delete":
            # Deleting archived data deletes the archive copy; the journal names the folder.
            target = stat.archivepath if stat.action_state in st.ARCHIVED else ""
        else:
            target = destination_dir(action, stat, report, backup)
        st.set_state(db, stat, report, PENDING[action], user_comment={"user": user, "user_comment": comment})
        if action != "delete":
            label = "Archive Pending" if action == "archive" else "Export Pending"
            st.log_for(db, stat, report, f"{label} for {stat.type} to {backup}.<br>User Comment: {comment}",
                       user)
        else:
            st.log_for(db, stat, report, f"Delete Pending for {stat.type}.<br>User Comment: {comment}", user)
        db.execute_sql('INSERT INTO "dmaction" ("filestat_id", "action", "destination", "username", "comment") '
                       'VALUES (?, ?, ?, ?, ?)', (stat.id, action, target, user, comment))
        pk = db.execute_sql("SELECT last_insert_rowid()").fetchone()[0]
    return actions(db, 'WHERE a."id" = ?', (pk,))[0]


def cancel(store, result_id: int, type_: str, user: str) -> bool:
    """A pending archive/export that has not started goes back to Local."""
    db = store.db
    with store.write():
        report = st.load_report(db, result_id)
        stat = st.filestats(db, result_id).get(type_) if report else None
        if stat is None or stat.action_state not in ("SA", "SE", "SD"):
            return False
        label = st.STATE_DISPLAY[stat.action_state]
        db.execute_sql('UPDATE "dmaction" SET "phase" = \'cancelled\', "updated" = ? WHERE "filestat_id" = ? '
                       'AND "phase" = \'queued\'', (st.now_text(), stat.id))
        st.set_state(db, stat, report, "L")
        st.log_for(db, stat, report, f"Canceled {label} for {stat.type}", user)
    return True


def _set_phase(store, action: Action, phase: str, **extra) -> None:
    sets = ['"phase" = ?', '"updated" = ?'] + [f'"{k}" = ?' for k in extra]
    with store.write():
        store.db.execute_sql(f'UPDATE "dmaction" SET {", ".join(sets)} WHERE "id" = ?',
                             [phase, st.now_text(), *extra.values(), action.id])
    action.phase = phase


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_file(source: str, target: str) -> int:
    """Copy one file durably (temp name, fsync, rename); links are recreated as links. Returns bytes."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(source):
        if not os.path.lexists(target):
            os.symlink(os.readlink(source), target)
        return 0
    if not os.path.isfile(source):
        return 0
    partial = target + PART
    _copy_flushed(source, partial)
    shutil.copystat(source, partial)
    os.replace(partial, target)
    return os.path.getsize(target)


COPY_STEP = 32 * 1024 * 1024


def _copy_flushed(source: str, partial: str) -> None:
    """Copy by the kernel (sendfile: no interpreter lock held, so the API threads keep answering),
    flushing every 32 MiB: a large archive then never piles up gigabytes of dirty pages whose
    write-back would stall every other reader of the disk."""
    with open(source, "rb") as src, open(partial, "wb") as dst:
        size = os.fstat(src.fileno()).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(dst.fileno(), src.fileno(), offset, min(COPY_STEP, size - offset))
            if sent == 0:
                break
            offset += sent
            os.fdatasync(dst.fileno())
        os.fsync(dst.fileno())


def _same_copy(source: str, target: str, merged: bool) -> bool:
    """The copy is in place; where report and raw-data folders hold the same name, one copy stands for both."""
    if os.path.islink(source) or merged:
        return os.path.lexists(target)
    try:
        return os.path.getsize(source) == os.path.getsize(target)
    except OSError:
        return False


def _remove_empty_parents(path: str, stop: str) -> None:
    parent = os.path.dirname(path)
    while parent.startswith(stop.rstrip("/") + "/") and "plugin_out" not in parent:
        try:
            os.rmdir(parent)
        except OSError:
            return
        parent = os.path.dirname(parent)


def _serialized(store, report: st.Report, target: str) -> None:
    """serialized_<report>.json beside the copied files, so the copy says what it is."""
    path = os.path.join(target, f"serialized_{report.name}.json")
    if os.path.exists(path):
        return
    reader = store.reader
    rows = {"results": reader.query("results", store.model("results").id == report.id)}
    if report.exp_id is not None:
        rows["experiment"] = reader.query("experiment", store.model("experiment").id == report.exp_id)
    rows["dmfilesets"] = [{"type": t, "version": VERSION} for t in st.filestats(store.db, report.id)]
    with open(path + PART, "w", encoding="utf-8") as handle:
        json.dump(rows, handle, default=str, indent=1, sort_keys=True)
    os.replace(path + PART, path)


def run(store, action: Action, progress: Optional[Progress] = None) -> Action:
    """Carry out (or resume) one journaled action to its end; failures end in state Error."""
    db = store.db
    report = st.load_report(db, action.result_id)
    stats = st.filestats(db, action.result_id)
    stat = next((s for s in stats.values() if s.id == action.filestat_id), None)
    if report is None or stat is None:
        _set_phase(store, action, "error", error="the report is gone")
        return action
    comment = action.comment
    try:
        if action.phase == "queued":
            with store.write():
                st.log_for(db, stat, report, f"{VERB[action.action][0]} {stat.type} - {report.name} Using "
                                            f"v.{VERSION}<br>User Comment: {comment}", action.username)
                st.set_state(db, stat, report, RUNNING[action.action])
            _set_phase(store, action, "removing" if action.action == "delete" else "copying")
        if action.action == "delete" and action.destination:
            dirs = [action.destination]
        else:
            dirs = [d for d in (report.report_dir, report.exp_dir) if d]
        sel = st.selection(stats, stat, report, action=action.action, dirs=dirs)
        files = [(start, rel) for start, rel in sel.items()]
        total = sum(file_size(os.path.join(s, r)) for s, r in files)
        if action.phase == "copying":
            _set_phase(store, action, "copying", total_bytes=total, done_bytes=0)
            os.makedirs(action.destination, exist_ok=True)
            _serialized(store, report, action.destination)
            done, last = 0, time.monotonic()
            for start, rel in files:
                done += copy_file(os.path.join(start, rel), os.path.join(action.destination, rel))
                if progress:
                    progress(done, total)
                if time.monotonic() - last > 1.0:
                    last = time.monotonic()
                    _set_phase(store, action, "copying", done_bytes=done)
            _fsync_dir(action.destination)
            # The copy is complete and on disk: from here on the journal allows removing sources.
            _set_phase(store, action, "removing" if action.action == "archive" else "finishing", done_bytes=done)
        removed = 0
        merged = {rel for rel, n in Counter(rel for _start, rel in files).items() if n > 1}
        if action.phase == "removing":
            for start, rel in files:
                source = os.path.join(start, rel)
                if sel.kept(start, rel):
                    continue
                if action.action == "archive" and not _same_copy(source, os.path.join(action.destination, rel),
                                                                 rel in merged):
                    raise OSError(f"the archive copy of {rel} is missing or incomplete")
                size = file_size(source)
                try:
                    os.unlink(source)
                except FileNotFoundError:
                    pass
                removed += size
                if stat.fileset.del_empty_dir:
                    _remove_empty_parents(source, start)
                if progress and action.action == "delete":
                    progress(removed, total)
        _finish(store, action, stat, report, total)
    except (OSError, DmRefused) as exc:
        log.warning("%s of %s on report %s failed: %s", action.action, stat.type, report.name, exc)
        with store.write():
            st.set_state(db, stat, report, "E")
            st.log_for(db, stat, report, f"Error - {exc}. Action not completed.  User intervention required.",
                      st.DM_USER)
        _set_phase(store, action, "error", error=str(exc))
    return action


def _finish(store, action: Action, stat: st.FileStat, report: st.Report, total: int) -> None:
    db = store.db
    mb = total / st.MIB
    word = VERB[action.action][1]
    where = f" to {action.destination}" if action.action != "delete" else ""
    with store.write():
        if action.action == "export":
            st.set_state(db, stat, report, "L", archivepath="", diskspace=mb)
        else:
            st.set_state(db, stat, report, "AD" if action.action == "archive" else "DD",
                         archivepath=action.destination if action.action == "archive" else "", diskspace=mb)
        st.log_for(db, stat, report, f"{mb:.1f} MB {stat.type} {word}{where}.<br>User Comment: {action.comment}",
                  action.username)
        db.execute_sql('UPDATE "dmfilestat" SET "stale" = 1 WHERE "result_id" = ?', (report.id,))
    _set_phase(store, action, "done", done_bytes=total)


_UNFINISHED = 'a."phase" IN (\'copying\', \'removing\', \'finishing\')'


def next_queued(db) -> Optional[Action]:
    """The action to run next: unfinished ones first (a restart resumes them), then the oldest request
    whose report no plugin is working on."""
    found = actions(db, f'WHERE {_UNFINISHED} ORDER BY a."id" LIMIT 1')
    if found:
        return found[0]
    # A pending action waits while a plugin works on its report, as Torrent Suite's pending jobs do.
    for action in actions(db, 'WHERE a."phase" = \'queued\' ORDER BY a."id"'):
        report = st.load_report(db, action.result_id)
        if report is None or not st.files_in_use(db, report):
            return action
    return None


def resume_unfinished(store, progress: Optional[Progress] = None) -> int:
    """Finish actions a crash interrupted (copying, removing or finishing); returns how many."""
    count = 0
    for action in actions(store.db, f'WHERE {_UNFINISHED} ORDER BY a."id"'):
        run(store, action, progress)
        count += 1
    return count


def run_pending(store, progress: Optional[Progress] = None, only: Optional[int] = None) -> int:
    """Run queued and unfinished actions (all, or the one with id `only`); returns how many ran."""
    count = 0
    while True:
        if only is not None:
            found = actions(store.db, 'WHERE a."id" = ? AND a."phase" NOT IN (\'done\', \'error\', \'cancelled\')',
                            (only,))
            action = found[0] if found else None
        else:
            action = next_queued(store.db)
        if action is None:
            return count
        run(store, action, progress)
        count += 1
