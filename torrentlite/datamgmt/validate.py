"""Whether an archive/export/delete may start: Torrent Suite's refusals, as clear messages."""
from __future__ import annotations

import os

from torrentlite.datamgmt.filesets import SIG
from torrentlite.datamgmt.state import ARCHIVED, IN_PROCESS, MIB, STATE_DISPLAY, FileStat, Report
from torrentlite.store.paths import is_inside

ACTIONS = ("archive", "export", "delete")


class DmRefused(Exception):
    """An action that cannot start; `status` is the HTTP answer, `warning` means "confirm to go on"."""

    def __init__(self, message: str, status: int = 409, warning: bool = False):
        super().__init__(message)
        self.status = status
        self.warning = warning


def destination_dir(action: str, stat: FileStat, report: Report, backup: str) -> str:
    """Where the files go: raw data under the experiment's folder name, report files per report."""
    if stat.type == SIG:
        return os.path.join(backup, os.path.basename(report.exp_dir.rstrip("/")))
    sub = "archivedReports" if action == "archive" else "exportedReports"
    return os.path.join(backup, sub, os.path.basename(report.report_dir.rstrip("/")))


def check(action: str, stat: FileStat, report: Report, *, kept: bool, in_use: str, confirmed: bool,
          backup: str = "") -> None:
    """Raise DmRefused when the action may not start now."""
    name = report.name
    if stat.action_state == "DD":
        raise DmRefused(f"The {stat.type} for {name} are deleted")
    if stat.action_state in IN_PROCESS:
        raise DmRefused(f"{stat.type} for {name} is already in process: {STATE_DISPLAY[stat.action_state]}")
    if stat.action_state in ARCHIVED and action in ("archive", "export"):
        raise DmRefused(f"{stat.type} for {name} is archived to {stat.archivepath}")
    if stat.action_state in ARCHIVED and not os.path.isdir(stat.archivepath or ""):
        raise DmRefused(f"{stat.type} archive location {stat.archivepath} is not available.")
    if in_use:
        raise DmRefused(" Cannot complete request because the files to be deleted/archived are currently in use."
                        f" ({in_use})")
    if kept and action == "delete":
        raise DmRefused(f"Unable to delete files: {stat.type} currently marked as Keep.")
    if kept and action == "archive" and not confirmed:
        raise DmRefused(f"{stat.type} currently marked Keep.", status=200, warning=True)
    if action in ("archive", "export"):
        check_backup(stat, report, backup)


def check_backup(stat: FileStat, report: Report, backup: str) -> None:
    if backup in ("", "None", "/") or backup is None:
        raise DmRefused(f"Backup media for {stat.type} is not configured. Give a destination folder or set the "
                        "category's backup_directory.", status=400)
    if not os.path.isabs(backup) or not os.path.isdir(backup):
        raise DmRefused(f"Backup media for {stat.type} is not a directory: {backup}", status=400)
    for source in (report.report_dir, report.exp_dir):
        if source and (is_inside(backup, source) or os.path.realpath(backup) == os.path.realpath(source)):
            raise DmRefused(f"Backup media for {stat.type} is inside the report's own folder: {backup}", status=400)
    if not os.access(backup, os.W_OK | os.X_OK):
        raise DmRefused(f"Cannot write to {backup}: permission denied", status=400)
    needed = stat.diskspace or 0.0
    st = os.statvfs(backup)
    free = st.f_bavail * st.f_frsize / MIB
    if needed > free and not os.path.exists(os.path.join(backup, ".no_size_check")):
        raise DmRefused(f"Not enough space to write files at {backup} (free={int(free)}MB)", status=400)
