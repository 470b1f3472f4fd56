"""Helpers for the plugin-run tests: write small real plugins, register them, read what they recorded."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from torrentlite.runner.local import LocalExecutor
from torrentlite.runner.scheduler import RunLevelScheduler
from torrentlite.settings import Settings
from torrentlite.store.load import insert_row

TEMPLATE = '''\
#!/usr/bin/env python3
import json, os, sys, time
from ion.plugin import *


def record(kind, **extra):
    sp = json.load(open("startplugin.json"))
    level = sp["runplugin"]["runlevel"]
    doc = dict(name={name!r}, level=level, t=time.time(), pid=os.getpid(), kind=kind, **extra)
    path = os.path.join({events!r}, "%s.%s.%s.%s.%d.json" % ({name!r}, level, kind, sp["runplugin"].get("blockId", ""),
                                                        os.getpid()))
    with open(path, "w") as fh:
        json.dump(doc, fh)


class {name}(IonPlugin):
    version = "{version}"
    runlevels = {runlevels!r}
    depends = {depends!r}
    features = {features!r}

    def launch(self, data=None):
        record("start")
{body}
        record("end")
        return True


if __name__ == "__main__":
    PluginCLI()
'''


def make_plugin(root: Path, events: Path, name: str, body: str = "", *, version: str = "1.0",
                runlevels=(), depends=(), features=()) -> Path:
    """Write ``<root>/<name>/<name>.py`` that records its start and end in ``events``, running ``body``."""
    folder = Path(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    events.mkdir(parents=True, exist_ok=True)
    code = textwrap.indent(textwrap.dedent(body).strip() or "pass", " " * 8)
    (folder / f"{name}.py").write_text(TEMPLATE.format(name=name, events=str(events), version=version,
                                                        runlevels=list(runlevels), depends=list(depends),
                                                        features=list(features), body=code))
    return folder


def register_plugin(store, folder: Path, *, version="1.0", runlevels=(), depends=(), features=(), runtypes=(),
                    config=None, requires_configuration=False, selected=True, active=True) -> int:
    name = folder.name
    with store.write():
        return insert_row(store, "plugin", {
            "name": name, "path": str(folder), "script": f"{name}.py", "version": version,
            "pluginsettings": {"features": list(features), "runtypes": list(runtypes),
                               "runlevels": list(runlevels), "depends": list(depends)},
            "config": config or {}, "selected": selected, "active": active,
            "requires_configuration": requires_configuration, "description": "", "url": "", "status": {},
            "userinputfields": {}, "majorBlock": False, "defaultSelected": False, "packageName": "",
            "date": "2024-01-01T00:00:00Z"})


def add_plugin(store, root: Path, events: Path, name: str, body: str = "", **kw) -> int:
    keys = ("version", "runlevels", "depends", "features")
    folder = make_plugin(root, events, name, body, **{k: v for k, v in kw.items() if k in keys})
    return register_plugin(store, folder, **{k: v for k, v in kw.items() if k not in ("body",)})


class PluginEnv:
    """A demo app, a folder for test plugins, one for the events they record, and a scheduler."""

    def __init__(self, app, tmp_path: Path, **overrides):
        self.app, self.store = app, app.store
        self.plugins, self.events = tmp_path / "plugins", tmp_path / "events"
        self.sched = scheduler_for(app, **{"plugin_slots": 2, **overrides})


def scheduler_for(app, **overrides) -> RunLevelScheduler:
    settings = Settings({**app.settings, "plugin_memory_floor_mb": 0, **overrides})
    return RunLevelScheduler(app.store, LocalExecutor(), settings)


def events(folder: Path) -> list:
    out = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            out.append(json.loads(path.read_text()))
        except ValueError:
            continue
    return sorted(out, key=lambda e: e["t"])


def job_rows(store, pr_id=None) -> list:
    sql = 'SELECT grid_engine_jobid, state, run_level, starttime, endtime, usage, reason, plugin_result_id ' \
          'FROM "PluginResultJob"'
    params = ()
    if pr_id is not None:
        sql += " WHERE plugin_result_id = ?"
        params = (pr_id,)
    cols = ("jobid", "state", "level", "starttime", "endtime", "usage", "reason", "pr")
    rows = [dict(zip(cols, r)) for r in store.db.execute_sql(sql + " ORDER BY grid_engine_jobid", params)]
    for row in rows:
        row["usage"] = json.loads(row["usage"]) if row["usage"] else None
    return rows
