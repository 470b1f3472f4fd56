"""Publishers: folders of editing scripts that turn an upload (a BED file, an annotation) into registered content."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import List, Tuple

from torrentlite.store.load import insert_row

from .inspect import PLUGINLIB
from .legacy_env import legacy_python
from .startplugin import fetch, fetch_one

log = logging.getLogger("torrentlite.publishers")

SHIPPED = Path(str(resources.files("torrentlite").joinpath("data/publishers")))
META_FILE = "publisher_meta.json"
# The editing stages Torrent Suite runs, in order: the first file of the publisher folder whose name
# starts with the stage runs, with the status shown meanwhile.
STAGES = (("pre_process", "Pre-processing"), ("validate", "Validating"), ("post_process", "Post-processing"),
          ("register", "Registering"))
DONE = "Successfully Completed"
SCRIPT_TIMEOUT = 3600.0


class PublisherError(ValueError):
    """An upload that cannot be accepted."""


def publishers_path(data_path: Path) -> Path:
    return Path(data_path) / "publishers"


def uploads_path(data_path: Path) -> Path:
    return Path(data_path) / "uploads"


def scan(store, data_path: Path) -> List[str]:
    """Install the shipped publishers (unless the site has its own of that name), then sync the publisher rows.

    A folder of ``<data dir>/publishers/`` with a ``publisher_meta.json`` holding a version is a publisher;
    rows whose folder is gone are removed. Returns the publisher names.
    """
    root = publishers_path(data_path)
    root.mkdir(parents=True, exist_ok=True)
    for shipped in sorted(SHIPPED.iterdir()) if SHIPPED.is_dir() else []:
        if shipped.is_dir() and not (root / shipped.name).exists():
            shutil.copytree(shipped, root / shipped.name)
    found = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "scratch"):
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            found[folder.name] = (str(meta["version"]), folder, meta)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("publisher %s has no usable %s: %s", folder.name, META_FILE, exc)
    now = datetime.now(timezone.utc).isoformat()
    with store.write():
        for row in fetch(store, "publisher", "1 = 1"):
            if row["name"] not in found or not os.path.isdir(row.get("path") or ""):
                store.db.execute_sql('DELETE FROM "publisher" WHERE id = ?', (row["id"],))
        known = {row["name"]: row for row in fetch(store, "publisher", "1 = 1")}
        for name, (version, folder, meta) in found.items():
            if name not in known:
                insert_row(store, "publisher", {"name": name, "version": version, "date": now, "path": str(folder),
                                                "global_meta": json.dumps(meta.get("global_meta") or {})})
            elif known[name]["version"] != version or known[name]["path"] != str(folder):
                store.db.execute_sql('UPDATE "publisher" SET version = ?, path = ? WHERE id = ?',
                                     (version, str(folder), known[name]["id"]))
    return sorted(found)


def editing_scripts(folder: Path) -> List[Tuple[Path, str]]:
    """(script, stage name) for each stage the publisher has, in stage order."""
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    scripts = []
    for prefix, stage in STAGES:
        for name in names:
            if name.startswith(prefix) and os.path.isfile(os.path.join(folder, name)):
                scripts.append((Path(folder, name), stage))
                break
    return scripts


def create_upload(store, data_path: Path, publisher: dict, filename: str, stream, meta: dict) -> int:
    """Save an uploaded file as ``<data dir>/uploads/<publisher>/<id>/<filename>`` with its meta.json."""
    name = os.path.basename(filename or "").strip()
    if not name or name in (".", "..") or "\x00" in name:
        raise PublisherError("the upload needs a file name")
    meta = dict(meta, upload_date=datetime.now(timezone.utc).isoformat())
    with store.write():
        upload = insert_row(store, "contentupload", {"status": "Saving", "meta": json.dumps(meta), "file_path": ""})
    folder = uploads_path(data_path) / publisher["name"] / str(upload)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "wb") as out:
        shutil.copyfileobj(stream, out, 1024 * 1024)
    (folder / "meta.json").write_text(json.dumps(meta, indent=4, sort_keys=True), encoding="utf-8")
    with store.write():
        store.db.execute_sql('UPDATE "contentupload" SET status = ?, file_path = ? WHERE id = ?',
                             ("Queued for processing", str(path), upload))
    return int(upload)


def _status(store, upload: int) -> str:
    row = fetch_one(store, "contentupload", upload) or {}
    return row.get("status") or ""


def _set_status(store, upload: int, status: str) -> None:
    with store.write():
        store.db.execute_sql('UPDATE "contentupload" SET status = ? WHERE id = ?', (status, upload))


def script_environment(data_path: Path, api_url: str, api_key: str) -> dict:
    """What editing scripts run with: ``python`` as for plugins (the legacy one first when built), the ion
    package, and the REST API's address and a key for it."""
    paths = [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
    legacy = legacy_python(data_path)
    if legacy is not None:
        paths.insert(0, str(legacy.parent))
    return {"PATH": os.pathsep.join(paths), "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8",
            "PYTHONPATH": str(PLUGINLIB), "TORRENTLITE_API_URL": api_url, "TORRENTLITE_API_KEY": api_key}


def run_scripts(store, data_path: Path, upload: int, env: dict) -> str:
    """Run the upload's publisher scripts in stage order, as Torrent Suite does; return the final status.

    Each runs as ``<script> <upload id> <upload dir> <upload file> <meta.json>`` in the publisher folder,
    its output appended to ``publisher.log`` beside the upload. A failing script, or one that set a status
    starting with "Error", ends the processing.
    """
    row = fetch_one(store, "contentupload", upload)
    path = Path(row["file_path"])
    publisher = fetch(store, "publisher", "name = ?", (path.parent.parent.name,))
    if not publisher:
        _set_status(store, upload, "Error: the publisher is not installed")
        return _status(store, upload)
    folder = Path(publisher[0]["path"])
    previous = _status(store, upload)
    for script, stage in editing_scripts(folder):
        if _status(store, upload) == previous:
            previous = stage
            _set_status(store, upload, stage)
        argv = [str(script), str(upload), str(path.parent), str(path), str(path.parent / "meta.json")]
        if not os.access(script, os.X_OK):
            argv.insert(0, "python")     # a script that lost its executable bit (e.g. unpacked from a zip)
        try:
            with open(path.parent / "publisher.log", "ab") as out:
                code = subprocess.run(argv, cwd=str(folder), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=SCRIPT_TIMEOUT).returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("upload %s: %s failed: %s", upload, script.name, exc)
            code = -1
        if code != 0 and not _status(store, upload).startswith("Error"):
            # A script that failed without saying why; one that set its own error message keeps it.
            _set_status(store, upload, f"Error: {stage}")
        if _status(store, upload).startswith("Error"):
            return _status(store, upload)
    _set_status(store, upload, DONE)
    return DONE


def process_in_background(store, data_path: Path, upload: int, env: dict) -> threading.Thread:
    def work():
        try:
            run_scripts(store, data_path, upload, env)
        except Exception:
            log.exception("upload %s: processing failed", upload)
            _set_status(store, upload, "Error: processing failed.")
    thread = threading.Thread(target=work, name=f"publisher-upload-{upload}", daemon=True)
    thread.start()
    return thread


__all__ = ["scan", "editing_scripts", "create_upload", "run_scripts", "process_in_background",
           "script_environment", "PublisherError", "STAGES", "DONE"]
