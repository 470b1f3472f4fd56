"""Files a delete takes with it: the output folders of plugin results removed by the cascade."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from torrentlite.api.computed import plugin_output_dir, result_report_dirs
from torrentlite.api.represent import Context
from torrentlite.store.models import _fk_nullable, column, fk_column

log = logging.getLogger("torrentlite.api.write")


def cascade(store, table: str, pks) -> dict[str, set]:
    """Every row SQLite's ON DELETE CASCADE removes with rows `pks` of `table`, by table (them included)."""
    registry = store.registry
    doomed: dict[str, set] = {table: set(pks)}
    frontier = [(table, set(pks))]
    while frontier:
        parent, keys = frontier.pop()
        if not keys:
            continue
        for child_name, child in registry.tables.items():
            for name, link in child.links.items():
                if link.kind != "fk" or link.table != parent:
                    continue
                on_delete = link.on_delete or ("SET NULL" if _fk_nullable(registry, child, name) else "CASCADE")
                if on_delete != "CASCADE":
                    continue
                model = store.model(child_name)
                pk = column(model, child.pk)
                found = {r[0] for r in model.select(pk).where(column(model, fk_column(name)).in_(list(keys)))
                         .tuples()}
                new = found - doomed.setdefault(child_name, set())
                if new:
                    doomed[child_name] |= new
                    frontier.append((child_name, new))
    return doomed


def plugin_output_dirs(store, pluginresult_ids) -> list[str]:
    """The output folders of these plugin results (computed before their rows go)."""
    ids = [i for i in pluginresult_ids if i is not None]
    if not ids:
        return []
    ctx = Context(store)
    prs = ctx.rows_by_pk("pluginresult", ids)
    results = ctx.rows_by_pk("results", [pr.get(fk_column("result")) for pr in prs.values()])
    plugins = ctx.rows_by_pk("plugin", [pr.get(fk_column("plugin")) for pr in prs.values()])
    result_rows = list(results.values())
    dirs = dict(zip([r["id"] for r in result_rows], result_report_dirs(ctx, result_rows)))
    out = []
    for pr in prs.values():
        plugin = plugins.get(pr.get(fk_column("plugin"))) or {}
        path = plugin_output_dir(dirs.get(pr.get(fk_column("result")), ""), plugin.get("name", ""), pr["id"])
        if path and plugin.get("name"):
            out.append(path)
    return out


def inside(path: str, root: Path) -> bool:
    """True when `path` (after resolving links) lies strictly below `root`."""
    try:
        real = Path(os.path.realpath(path))
        base = Path(os.path.realpath(root))
    except OSError:
        return False
    return real != base and base in real.parents


def remove_dirs(paths, root: Path) -> list[str]:
    """Delete each folder that lies inside `root` and is named like a plugin output folder."""
    removed = []
    for path in paths:
        name = os.path.basename(path.rstrip("/"))
        if "_out." not in name or os.path.basename(os.path.dirname(path.rstrip("/"))) != "plugin_out":
            continue
        if not inside(path, root):
            log.warning("not removing %s: it is outside the results folder %s", path, root)
            continue
        if os.path.islink(path):
            os.unlink(path)
            removed.append(path)
        elif os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
