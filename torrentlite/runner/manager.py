"""Installed plugins: zip and folder install, upgrades, uninstall, rescans, and the rows that record them.

Layout (as on Torrent Suite): every plugin lives in `<plugins_path>/<Name>/`; old versions replaced by an
upgrade are kept in `<plugins_path>/archive/<Name>/<version>/`; uploads wait in `<plugins_path>/scratch/`.
Each version ever installed has one `plugin` row; exactly one row per name is `active`.

Folders are moved by rename inside the plugins folder, so a plugin folder is always either the old one or
the new one, never half copied. Database changes happen in one `store.write()` transaction per operation;
if that transaction fails the folder moves are undone.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from torrentlite.runner.archive import (
    RESERVED_NAMES, remove_extracted, unpack_plugin_zip, validate_plugin_tree,
)
from torrentlite.runner.inspect import PluginError, PluginInfo, compare_versions, read_plugin_info
from torrentlite.store.fields import fits_int64
from torrentlite.store.models import column

__all__ = ["PluginManager", "PluginError", "entry_script", "upgrade_refusal", "is_test_row", "TEST_RUN_MARK",
           "CONFIG_PAGES"]

# Action name in /configure/plugins/plugin/<pk>/configure/<action>/ → the file it serves.
CONFIG_PAGES = {"config": "config.html", "plan": "plan.html", "report": "instance.html", "about": "about.html"}
INFO_COLUMNS = ("pluginsettings", "userinputfields", "majorBlock", "requires_configuration", "description")
# The key in `status` of the inactive row `plugin test` runs a working folder under (its runs need a plugin row).
TEST_RUN_MARK = "plugin_test"
_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def entry_script(plugin_dir: Path, name: str) -> Optional[Path]:
    """The plugin's entry script, `<Name>.py` else `launch.sh` (the order the info reader uses), or None."""
    for candidate in (plugin_dir / (name + ".py"), plugin_dir / "launch.sh"):
        if candidate.is_file():
            return candidate
    return None


def is_test_row(row: dict) -> bool:
    return isinstance(row.get("status"), dict) and TEST_RUN_MARK in row["status"]


def upgrade_refusal(name: str, version: str, installed: Optional[str]) -> Optional[str]:
    """Why `version` may not replace the installed version (only newer versions install), or None."""
    if installed is None or compare_versions(version, installed) > 0:
        return None
    word = "the same version as" if compare_versions(version, installed) == 0 else "older than"
    return ("%s %s is %s the installed version %s; only a newer version can be installed "
            "(uninstall the plugin first to downgrade)" % (name, version, word, installed))


def _now() -> datetime:
    return datetime.now(timezone.utc)


class PluginManager:
    """Install, upgrade, uninstall and rescan the plugins of one plugins folder, recording them in `store`."""

    def __init__(self, store, plugins_path, inspect_timeout: float = 10):
        self.store = store
        self.plugins_path = Path(plugins_path)
        self.inspect_timeout = inspect_timeout
        self.model = store.model("plugin")
        # Called after every install, upgrade, uninstall or rescan (the scheduler forgets what it cached).
        self.changed: list = []

    # -- paths -----------------------------------------------------------------------------
    @property
    def scratch_path(self) -> Path:
        return self.plugins_path / "scratch"

    @property
    def archive_path(self) -> Path:
        return self.plugins_path / "archive"

    def plugin_dir(self, name: str) -> Path:
        return self.plugins_path / name

    @contextmanager
    def _locked(self):
        """One plugin-changing operation at a time: across threads (lock) and processes (flock)."""
        self.plugins_path.mkdir(parents=True, exist_ok=True)
        key = str(self.plugins_path.resolve())
        with _LOCKS_GUARD:
            lock = _LOCKS.setdefault(key, threading.RLock())
        with lock:
            with open(self.plugins_path / ".lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                    for callback in self.changed:
                        callback()

    # -- rows ------------------------------------------------------------------------------
    def _as_dict(self, obj) -> dict:
        return {name: getattr(obj, f.name) for name, f in self.model._meta.columns.items()}

    def _rows(self, *conditions) -> list[dict]:
        query = self.model.select()
        for cond in conditions:
            query = query.where(cond)
        return [self._as_dict(obj) for obj in query.order_by(column(self.model, "id"))]

    def _col(self, name: str):
        return column(self.model, name)

    def get(self, pk) -> Optional[dict]:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        if not fits_int64(pk):
            return None
        rows = self._rows(self._col("id") == pk)
        return rows[0] if rows else None

    def active_row(self, name: str) -> Optional[dict]:
        rows = self._rows(self._col("name") == name, self._col("active") == True)  # noqa: E712
        return rows[-1] if rows else None

    def find(self, key: str, active_only: bool = True) -> Optional[dict]:
        """A row by pk (all digits) or by name; by name only the active row counts."""
        if str(key).isdigit():
            row = self.get(key)
            return row if row and (row["active"] or not active_only) else None
        return self.active_row(str(key))

    def rows(self, active: Optional[bool] = None) -> list[dict]:
        if active is None:
            return self._rows()
        return self._rows(self._col("active") == active)

    def _update(self, pk: int, values: dict) -> None:
        fields = {self._col(name): value for name, value in values.items()}
        self.model.update(fields).where(self._col("id") == pk).execute()

    def _insert(self, values: dict) -> int:
        fields = {self._col(name): value for name, value in values.items()}
        return self.model.insert(fields).execute()

    @staticmethod
    def _info_values(info: PluginInfo) -> dict:
        values = {"pluginsettings": info.pluginsettings(), "userinputfields": info.config,
                  "majorBlock": bool(info.major_block), "requires_configuration": bool(info.requires_configuration)}
        if info.docs:
            values["description"] = info.docs.strip()
        return values

    # -- install ---------------------------------------------------------------------------
    def install_zip(self, zip_path) -> dict:
        """Install (or upgrade to) the plugin in a zip archive; returns the new active row.

        Raises ArchiveError/PluginError for anything that is not an installable, newer plugin; then nothing
        is left behind (no folder, no row).
        """
        with self._locked():
            root, info = unpack_plugin_zip(Path(zip_path), self.plugins_path, timeout=self.inspect_timeout)
            try:
                return self._install_tree(root, info)
            finally:
                remove_extracted(root)

    def install_dir(self, path) -> dict:
        """Install a plugin from a folder named after the plugin (copied into the plugins folder)."""
        source = Path(path)
        if not source.is_dir():
            raise PluginError("%s is not a folder" % source)
        source = source.resolve()
        name = source.name
        if name in RESERVED_NAMES or name.startswith("."):
            raise PluginError("%r is a reserved name, not a plugin name" % name)
        with self._locked():
            if source == self.plugin_dir(name).resolve():
                # Already in place: record what is there (a rescan of that one folder).
                info = validate_plugin_tree(source, timeout=self.inspect_timeout)
                return self._register(name, source, info)
            validate_plugin_tree(source, timeout=self.inspect_timeout)
            temp = Path(tempfile.mkdtemp(prefix=".plugin-upload-", dir=self.plugins_path))
            try:
                root = temp / name
                shutil.copytree(source, root, symlinks=False, ignore_dangling_symlinks=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                info = validate_plugin_tree(root, timeout=self.inspect_timeout)
                return self._install_tree(root, info)
            finally:
                shutil.rmtree(temp, ignore_errors=True)

    def _install_tree(self, root: Path, info: PluginInfo) -> dict:
        """Move the validated folder `root` into place and record it; the caller holds the lock."""
        name = info.name
        active = self.active_row(name)
        refusal = upgrade_refusal(name, info.version, active["version"] if active else None)
        if refusal:
            raise PluginError(refusal)
        target = self.plugin_dir(name)
        archived = None
        if os.path.lexists(target):
            archived = self._archive_slot(name, active)
            archived.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(archived):
                _remove(archived)
            os.rename(target, archived)
        try:
            os.rename(root, target)
        except OSError:
            if archived is not None:
                os.rename(archived, target)
            raise
        try:
            with self.store.write():
                return self._record_install(name, target, info, active)
        except BaseException:
            os.rename(target, root)
            if archived is not None:
                os.rename(archived, target)
            raise

    def _archive_slot(self, name: str, active: Optional[dict]) -> Path:
        version = active["version"] if active else None
        if version is None:
            try:
                version = read_plugin_info(self.plugin_dir(name), name, timeout=self.inspect_timeout).version
            except (PluginError, OSError):
                version = "unregistered-%d" % int(time.time())
        return self.archive_path / name / version

    def _record_install(self, name: str, target: Path, info: PluginInfo, previous: Optional[dict]) -> dict:
        same = self._same_version(name, info.version)
        row = same[0] if same else None
        config = None
        for candidate in (previous, row):
            if candidate and candidate.get("config"):
                config = candidate["config"]
                break
        if config is None:
            config = info.default_config if isinstance(info.default_config, dict) else {}
        values = dict(self._info_values(info), name=name, version=info.version, path=str(target),
                      script=str(target / info.script), active=True, selected=True, config=config, date=_now(),
                      packageName="")
        if previous is not None:
            values["defaultSelected"] = bool(previous.get("defaultSelected"))
        for other in self._rows(self._col("name") == name, self._col("version") != info.version):
            if other["active"] or other["path"]:
                self._update(other["id"], {"active": False, "path": ""})
        if row is None:
            values.setdefault("description", "")
            values.setdefault("defaultSelected", False)
            pk = self._insert(dict(values, url="", status={}))
        else:
            pk = row["id"]
            self._update(pk, values)
        return self.get(pk)

    # -- uninstall -------------------------------------------------------------------------
    def uninstall(self, pk) -> dict:
        """Deactivate the row and delete the plugin's folder; past runs and the row are kept."""
        row = self.get(pk)
        if row is None:
            raise PluginError("there is no plugin with id %s" % pk)
        with self._locked():
            with self.store.write():
                self._update(row["id"], {"active": False, "path": "", "date": _now()})
            folder = Path(row["path"]) if row["path"] else None
            if folder is not None and self._owned(folder):
                _remove(folder)
        return self.get(row["id"])

    def _owned(self, folder: Path) -> bool:
        """True when `folder` is a plugin folder directly inside the plugins folder (safe to delete)."""
        try:
            parent = Path(os.path.abspath(folder)).parent
            return parent == Path(os.path.abspath(self.plugins_path)) and folder.name not in RESERVED_NAMES \
                and not folder.name.startswith(".")
        except (OSError, ValueError):
            return False

    # -- rescan ----------------------------------------------------------------------------
    def rescan(self) -> dict:
        """Deactivate rows whose folder or entry script vanished, then record every plugin folder found.

        Returns {"added": [names], "updated": [names], "deactivated": [names], "errors": {name: message}}.
        """
        report = {"added": [], "updated": [], "deactivated": [], "errors": {}}
        with self._locked():
            report["deactivated"] = self._inactivate_missing()
            if not self.plugins_path.is_dir():
                return report
            for entry in sorted(self.plugins_path.iterdir()):
                name = entry.name
                if name in RESERVED_NAMES or name.startswith(".") or not entry.is_dir():
                    continue
                if entry_script(entry, name) is None:
                    continue
                try:
                    info = validate_plugin_tree(entry, timeout=self.inspect_timeout)
                except PluginError as exc:
                    report["errors"][name] = exc.message
                    continue
                known = bool(self._rows(self._col("name") == name, self._col("version") == info.version,
                                        self._col("active") == True))  # noqa: E712
                self._register(name, entry, info)
                if not known:
                    report["added"].append(name)
                else:
                    report["updated"].append(name)
        return report

    def rescan_one(self, pk) -> dict:
        """Re-read one plugin's folder: update its row, record a new version found there, or deactivate it."""
        row = self.get(pk)
        if row is None:
            raise PluginError("there is no plugin with id %s" % pk)
        name = row["name"]
        folder = Path(row["path"]) if row["path"] else self.plugin_dir(name)
        with self._locked():
            if not folder.is_dir() or entry_script(folder, name) is None:
                if row["active"]:
                    with self.store.write():
                        self._update(row["id"], {"active": False})
                return self.get(row["id"])
            info = validate_plugin_tree(folder, timeout=self.inspect_timeout)
            return self._register(name, folder, info)

    def _inactivate_missing(self) -> list[str]:
        gone = []
        for row in self.rows(active=True):
            folder = Path(row["path"]) if row["path"] else None
            if folder is None or not folder.is_dir() or entry_script(folder, row["name"]) is None:
                gone.append(row)
        if gone:
            with self.store.write():
                for row in gone:
                    self._update(row["id"], {"active": False})
        return [row["name"] for row in gone]

    def _register(self, name: str, folder: Path, info: PluginInfo) -> dict:
        """Record the plugin found in `folder` (rescan): create or refresh its row, retire other versions."""
        with self.store.write():
            previous = self.active_row(name)
            same = self._same_version(name, info.version)
            values = dict(self._info_values(info), path=str(folder), script=str(folder / info.script),
                          active=True)
            if same:
                pk = same[0]["id"]
                if not same[0]["active"]:
                    values["date"] = _now()
                self._update(pk, values)
            else:
                carried = previous if previous and previous["version"] != info.version else None
                config = (carried or {}).get("config") or (
                    info.default_config if isinstance(info.default_config, dict) else {})
                values.update(name=name, version=info.version, selected=True, config=config, date=_now(),
                              defaultSelected=bool((carried or {}).get("defaultSelected")), packageName="",
                              url="", status={})
                values.setdefault("description", "")
                pk = self._insert(values)
            for other in self._rows(self._col("name") == name, self._col("id") != pk):
                if other["active"] or other["path"]:
                    self._update(other["id"], {"active": False, "path": ""})
        return self.get(pk)

    def _same_version(self, name: str, version: str) -> list[dict]:
        return [r for r in self._rows(self._col("name") == name, self._col("version") == version)
                if not is_test_row(r)]

    def test_row(self, folder: Path, info: PluginInfo) -> dict:
        """The inactive, unselected row that `plugin test` runs `folder` under, created or refreshed.

        It is never launched by the pipeline or by name (only active, selected rows are) and an install of
        the same version gets a row of its own; the runs it made stay linked to it.
        """
        folder = Path(folder).resolve()
        config = info.default_config if isinstance(info.default_config, dict) else {}
        values = dict(self._info_values(info), name=info.name, version=info.version, path=str(folder),
                      script=str(folder / info.script), active=False, selected=False, config=config,
                      status={TEST_RUN_MARK: str(folder)}, date=_now())
        with self.store.write():
            mine = [r for r in self._rows(self._col("name") == info.name, self._col("active") == False)  # noqa: E712
                    if is_test_row(r)]
            if mine:
                pk = mine[-1]["id"]
                self._update(pk, values)
            else:
                values.setdefault("description", "")
                pk = self._insert(dict(values, defaultSelected=False, packageName="", url=""))
        return self.get(pk)

    # -- reads -----------------------------------------------------------------------------
    def info(self, pk) -> Optional[dict]:
        """The plugin's info dict read from its folder now (name, version, config, runtypes, docs...)."""
        row = self.get(pk)
        if row is None or not row["path"]:
            return None
        folder = Path(row["path"])
        if not folder.is_dir():
            return None
        try:
            info = read_plugin_info(folder, row["name"], timeout=self.inspect_timeout)
        except (PluginError, OSError):
            return None
        data = info.as_info()
        data["pluginorm"] = row["id"]
        data["_meta"] = {"script": info.script, "language": info.language, "errors": info.errors}
        return data

    def page_url(self, row: dict, action: str):
        """The config page URL for `action` when the plugin has that file, else False."""
        path = row.get("path") or ""
        if path and os.path.isfile(os.path.join(path, CONFIG_PAGES[action])):
            return "/configure/plugins/plugin/%s/configure/%s/" % (row["id"], action)
        return False

    def lineage(self, selected: Optional[bool] = None) -> list[dict]:
        """One entry per plugin name: its active version, else (packaged plugins only) its newest row."""
        by_name: dict[str, list[dict]] = {}
        for row in self._rows():
            by_name.setdefault(row["name"], []).append(row)
        out = []
        for name in sorted(by_name, key=str.lower):
            rows = by_name[name]
            active = [r for r in rows if r["active"]]
            if active:
                row, current = active[-1], active[-1]["version"]
            else:
                packaged = [r for r in rows if r.get("packageName")]
                if not packaged:
                    continue
                row = max(packaged, key=_VersionOrder)
                current = "None"
            if selected is not None and bool(row["selected"]) != selected:
                continue
            date = row.get("date")
            out.append({"name": name, "CurrentVersion": current,
                        "date": date.isoformat() if hasattr(date, "isoformat") else date,
                        "isSupported": False, "availableVersions": [], "isUpgradable": False,
                        "isConfig": self.page_url(row, "config"), "isPlanConfig": self.page_url(row, "plan"),
                        "isInstance": self.page_url(row, "report"), "hasAbout": self.page_url(row, "about"),
                        "selected": bool(row["selected"]), "id": row["id"],
                        "defaultSelected": bool(row["defaultSelected"])})
        return out


class _VersionOrder:
    def __init__(self, row):
        self.version = row["version"]

    def __lt__(self, other):
        return compare_versions(self.version, other.version) < 0


def _remove(path: Path) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    else:
        shutil.rmtree(path, ignore_errors=True)
