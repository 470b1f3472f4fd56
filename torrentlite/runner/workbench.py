"""`plugin test`: run a plugin from its working folder on a report through the real scheduler, following its log."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .archive import validate_plugin_tree
from .authoring import check_plugin, is_junk
from .inspect import PluginError
from .startplugin import fetch, fetch_one
from .states import ACTIVE, RunLevel

__all__ = ["Trial", "run_trial", "folder_fingerprint"]

LOG_NAME = "drmaa_stdout.txt"
POLL = 0.2


@dataclass
class Trial:
    """What one test run of a plugin did."""

    plugin: str
    pluginresult: int
    results_dir: str
    jobs: list = field(default_factory=list)      # [(level, state, reason)]
    store: dict = field(default_factory=dict)
    files: list = field(default_factory=list)
    block_url: str = ""
    finished: bool = True

    @property
    def ok(self) -> bool:
        return self.finished and bool(self.jobs) and all(state == "Completed" for _, state, _ in self.jobs)


def run_trial(scheduler, manager, folder: Path, result_pk: int, *, owner: bool, net_location: str,
              level: Optional[str] = None, config: Optional[dict] = None, user: str = "ionadmin",
              write: Callable[[str], None] = print, timeout: float = 0) -> Optional[Trial]:
    """Launch the plugin in `folder` on report `result_pk` and follow it to the end, writing its log lines.

    `owner`: this process holds the scheduler lock and ticks the scheduler itself; otherwise the server that
    holds it runs the queued jobs and this only follows them. Returns None when no job was queued (the
    plugin does not run at `level` on this report). Raises PluginError when the installer would refuse the
    folder (other problems `plugin check` finds are written first) and LaunchError when the launch is refused.
    """
    folder = Path(folder).resolve()
    validate_plugin_tree(folder)  # what the installer refuses cannot run either
    info, problems = check_plugin(folder)
    for problem in problems:  # the rest is shown, not refused: a page or a value may be work in progress
        write("check: %s" % problem)
    row = manager.test_row(folder, info)
    if level is not None:
        if level not in {lv.value for lv in RunLevel}:
            raise PluginError("unknown run level %r (one of %s)" % (level, ", ".join(lv.value for lv in RunLevel)))
        row = dict(row, pluginsettings=dict(row.get("pluginsettings") or {}, runlevels=[level]))
    launched = scheduler.launch(result_pk, [row], run_mode="manual", pluginconfig=config, user=user)
    if not launched:
        return None
    item = launched[0]
    trial = Trial(info.name, item["pluginresult"], item["results_dir"])
    if item["state"] == "Failed Validation":
        trial.jobs = [("", item["state"], "; ".join(item.get("validation_errors") or []))]
        return trial
    log = _LogFollower(Path(item["results_dir"]) / LOG_NAME, write)
    deadline = time.monotonic() + timeout if timeout else float("inf")
    try:
        while True:
            if owner:
                scheduler.tick()
            log.follow()
            if not _active(scheduler.db, trial.pluginresult):
                break
            if time.monotonic() > deadline:
                scheduler.cancel(trial.pluginresult)
                trial.finished = False
                break
            time.sleep(POLL)
    except KeyboardInterrupt:
        scheduler.cancel(trial.pluginresult)  # Ctrl-C stops the plugin too, not only the following
        raise
    log.follow()
    _collect(scheduler.store, trial, net_location)
    return trial


def _active(db, pluginresult: int) -> bool:
    states = ",".join("'%s'" % s.value for s in ACTIVE)
    return bool(db.execute_sql('SELECT COUNT(*) FROM "PluginResultJob" WHERE plugin_result_id = ? AND state IN (%s)'
                               % states, (pluginresult,)).fetchone()[0])


def _collect(store, trial: Trial, net_location: str) -> None:
    jobs = fetch(store, "PluginResultJob", "plugin_result_id = ? ORDER BY grid_engine_jobid", (trial.pluginresult,))
    trial.jobs = [(j.get("run_level") or "", j["state"], j.get("reason") or "") for j in jobs]
    pr = fetch_one(store, "pluginresult", trial.pluginresult) or {}
    stored = pr.get("store")
    trial.store = json.loads(stored) if isinstance(stored, str) and stored else (stored or {})
    root = Path(trial.results_dir)
    if root.is_dir():
        found = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
        trial.files = sorted(rel.as_posix() for rel in found if not any(part.startswith(".") for part in rel.parts))
    block = "%s_block.html" % trial.plugin
    if block in trial.files:
        result = fetch_one(store, "results", pr.get("result_id")) or {}
        link = result.get("reportLink") or ""
        trial.block_url = "%s%splugin_out/%s/%s" % (net_location.rstrip("/"), link, root.name, block)


class _LogFollower:
    """Writes the lines appended to a log file since the last call (the log may be rotated between levels)."""

    def __init__(self, path: Path, write: Callable[[str], None]):
        self.path, self.write, self.offset, self.partial = path, write, 0, ""

    def follow(self) -> None:
        try:
            size = self.path.stat().st_size
        except OSError:
            return
        if size < self.offset:
            self.offset = 0
        if size == self.offset:
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(size - self.offset)
        self.offset += len(chunk)
        text = self.partial + chunk.decode("utf-8", "replace")
        lines = text.split("\n")
        self.partial = lines.pop()
        for line in lines:
            self.write(line)


def folder_fingerprint(folder: Path) -> tuple:
    """Changes whenever a file of the plugin is added, removed or modified (caches and backups ignored)."""
    marks = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not is_junk(d, True))
        for name in sorted(filenames):
            if is_junk(name, False):
                continue
            try:
                st = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            marks.append((os.path.relpath(os.path.join(dirpath, name), folder), st.st_mtime_ns, st.st_size))
    return tuple(marks)
