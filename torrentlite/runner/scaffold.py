"""`plugin new`: a working plugin folder rendered from the template shipped in torrentlite/data/plugin_template."""
from __future__ import annotations

import keyword
import os
import shutil
from importlib import resources
from pathlib import Path

from .archive import PLUGIN_NAME_RE, RESERVED_NAMES
from .inspect import PluginError

__all__ = ["new_plugin", "TEMPLATE"]

TEMPLATE = Path(str(resources.files("torrentlite").joinpath("data/plugin_template")))
NAME_TOKEN = "__NAME__"
TEXT_TOKEN = "{{name}}"


def new_plugin(name: str, parent: Path, *, launch_sh: bool = False, python2: bool = False) -> Path:
    """Write the plugin `name` into `parent/name` and return that folder.

    Python 3 by default; `python2` writes code that also runs on Torrent Suite 5's Python 2.7 plugin
    environment; `launch_sh` a legacy shell plugin. Raises PluginError for a bad name or an existing folder.
    """
    if launch_sh and python2:
        raise PluginError("choose --launch-sh or --python2, not both")
    if not PLUGIN_NAME_RE.match(name) or not name.isidentifier() or keyword.iskeyword(name):
        raise PluginError("%r cannot name a plugin: use letters, digits and '_', starting with a letter "
                          "(it is also the Python class name)" % name)
    if name.lower() in RESERVED_NAMES:
        raise PluginError("%r is a reserved name" % name)
    target = Path(parent) / name
    if os.path.lexists(target):
        raise PluginError("%s already exists" % target)
    variant = "launch_sh" if launch_sh else "python2" if python2 else "python3"
    temp = Path(parent) / (".%s.new" % name)
    shutil.rmtree(temp, ignore_errors=True)
    try:
        for source_root in (TEMPLATE / "common", TEMPLATE / variant):
            _render_tree(source_root, temp, name)
        os.rename(temp, target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return target


def _render_tree(source_root: Path, target_root: Path, name: str) -> None:
    for dirpath, dirnames, filenames in os.walk(source_root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = Path(dirpath).relative_to(source_root)
        out_dir = target_root / Path(str(rel).replace(NAME_TOKEN, name))
        out_dir.mkdir(parents=True, exist_ok=True)
        for filename in filenames:
            if filename.endswith((".pyc", ".pyo")):
                continue
            source = Path(dirpath, filename)
            target = out_dir / filename.replace(NAME_TOKEN, name)
            target.write_text(source.read_text(encoding="utf-8").replace(TEXT_TOKEN, name), encoding="utf-8")
            executable = source.stat().st_mode & 0o111 or filename in ("launch.sh", NAME_TOKEN + ".py")
            target.chmod(0o755 if executable else 0o644)
