"""Downloads by URL tracked as filemonitor/ rows: status, size and progress while they run; resumable."""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Optional

from torrentlite.store.fields import stored_datetime, utcnow

log = logging.getLogger("torrentlite.datamgmt")

CHUNK = 64 * 1024
TIMEOUT = 30
PART = ".part"
ACTIVE = ("Starting", "Downloading")
NO_NAME = "the_download_with_no_name"


class Cancelled(Exception):
    """The download was cancelled."""


class Stop(threading.Event):
    """Set to stop a download; `keep_partial` (server shutdown) keeps what arrived for a resume."""

    keep_partial = False


def _now() -> str:
    return stored_datetime(utcnow())


def _update(store, pk: int, **values) -> None:
    values["updated"] = _now()
    sets = ", ".join(f'"{k}" = ?' for k in values)
    with store.write():
        store.db.execute_sql(f'UPDATE "filemonitor" SET {sets} WHERE "id" = ?', [*values.values(), pk])


def row(store, pk: int) -> Optional[dict]:
    found = store.db.execute_sql('SELECT "id", "url", "local_dir", "name", "size", "progress", "status", "md5sum", '
                                 '"tags" FROM "filemonitor" WHERE "id" = ?', (pk,)).fetchone()
    keys = ("id", "url", "local_dir", "name", "size", "progress", "status", "md5sum", "tags")
    return dict(zip(keys, found)) if found else None


def check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"Invalid URL Error: {url!r} is not an http or https URL")


def create(store, url: str, *, name: str = "", md5sum: str = "", tags: str = "") -> int:
    """A new monitor row (status Starting) for a download that `download` then carries out."""
    check_url(url)
    if md5sum and not re.fullmatch(r"[0-9a-fA-F]{32}", md5sum):
        raise ValueError("md5sum must be 32 hexadecimal digits")
    with store.write():
        store.db.execute_sql('INSERT INTO "filemonitor" ("url", "local_dir", "name", "progress", "status", '
                             '"celery_task_id", "md5sum", "tags", "created", "updated") '
                             'VALUES (?, \'\', ?, 0, \'Starting\', \'\', ?, ?, ?, ?)',
                             (url, _safe_name(name), md5sum.lower() or None, tags, _now(), _now()))
        return store.db.execute_sql("SELECT last_insert_rowid()").fetchone()[0]


def _safe_name(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    return "" if name in ("", ".", "..") else name


def _name_from(response, url: str) -> str:
    disposition = response.headers.get("Content-Disposition") or ""
    match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', disposition)
    if match:
        name = _safe_name(urllib.parse.unquote(match.group(1)))
        if name:
            return name
    return _safe_name(urllib.parse.unquote(urllib.parse.urlsplit(url).path)) or NO_NAME


def _source_md5(response) -> str:
    """The checksum the server states, if any (Content-MD5 or a Digest md5)."""
    for header in ("Content-MD5",):
        value = response.headers.get(header)
        if value:
            try:
                return base64.b64decode(value).hex()
            except ValueError:
                return ""
    digest = response.headers.get("Digest") or ""
    match = re.search(r"md5=([A-Za-z0-9+/=]+)", digest)
    return base64.b64decode(match.group(1)).hex() if match else ""


def download(store, pk: int, base_dir: str, progress: Optional[Callable[[int, Optional[int]], None]] = None,
             cancel: Optional[threading.Event] = None) -> str:
    """Fetch (or resume) monitor `pk` into a folder of its own below `base_dir`; returns the final status."""
    mon = row(store, pk)
    if mon is None:
        raise LookupError(pk)
    local_dir = mon["local_dir"]
    if not local_dir or not os.path.isdir(local_dir):
        os.makedirs(base_dir, exist_ok=True)
        local_dir = tempfile.mkdtemp(prefix="download_", dir=base_dir)
        _update(store, pk, local_dir=local_dir)
    partial = os.path.join(local_dir, "download" + PART)
    offset = os.path.getsize(partial) if os.path.exists(partial) else 0
    request = urllib.request.Request(mon["url"], headers={"User-Agent": "torrentlite"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        check_url(mon["url"])
        response = urllib.request.urlopen(request, timeout=TIMEOUT)
    except ValueError:
        return _fail(store, pk, local_dir, "Invalid URL Error")
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is already whole
            response = None
        else:
            return _fail(store, pk, local_dir, f"HTTP Error: {exc.reason}")
    except (urllib.error.URLError, OSError):
        return _fail(store, pk, local_dir, "Connection Error")
    expected_md5 = mon["md5sum"] or ""
    try:
        if response is not None:
            with response:
                if response.status != 206:
                    offset = 0
                length = response.headers.get("Content-Length")
                size = offset + int(length) if length and length.isdigit() else None
                name = mon["name"] or _name_from(response, mon["url"])
                expected_md5 = expected_md5 or _source_md5(response)
                _update(store, pk, name=name, size=size, status="Downloading", progress=offset)
                _transfer(store, pk, response, partial, offset, size, progress, cancel)
        name = row(store, pk)["name"] or NO_NAME
    except Cancelled:
        if getattr(cancel, "keep_partial", False):
            return "Downloading"  # resumed when the server starts again
        return _fail(store, pk, local_dir, "Cancelled")
    except OSError:
        # The partial file stays: the download resumes from it with a Range request.
        _update(store, pk, status="Connection Lost",
                progress=os.path.getsize(partial) if os.path.exists(partial) else 0)
        return "Connection Lost"
    got = os.path.getsize(partial)
    if expected_md5 and _md5(partial) != expected_md5.lower():
        return _fail(store, pk, local_dir, "Error: identity hash mismatch")
    os.chmod(partial, 0o644)
    os.replace(partial, os.path.join(local_dir, name))
    _update(store, pk, status="Complete", progress=got, size=row(store, pk)["size"] or got,
            md5sum=expected_md5.lower() or None)
    return "Complete"


def _transfer(store, pk, response, partial, offset, size, progress, cancel) -> None:
    done, last = offset, time.monotonic()
    with open(partial, "ab" if offset else "wb") as out:
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            chunk = response.read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, size)
            if time.monotonic() - last >= 0.5:
                last = time.monotonic()
                _update(store, pk, progress=done)
        out.flush()
        os.fsync(out.fileno())
    if size is not None and done < size:
        raise OSError("the connection closed early")
    _update(store, pk, progress=done)


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _fail(store, pk: int, local_dir: str, status: str) -> str:
    """A download that failed for good leaves nothing behind but its row and status."""
    if local_dir:
        shutil.rmtree(local_dir, ignore_errors=True)
    _update(store, pk, status=status, local_dir="")
    return status


class Downloads:
    """The server's running downloads: one thread each, cancellable; unfinished ones resume at start."""

    def __init__(self, store, base_dir: str):
        self.store = store
        self.base_dir = base_dir
        self._running: dict[int, Stop] = {}
        self._lock = threading.Lock()

    def start(self, pk: int) -> None:
        with self._lock:
            if pk in self._running:
                return
            event = self._running[pk] = Stop()
        threading.Thread(target=self._run, args=(pk, event), name=f"torrentlite-download-{pk}", daemon=True).start()

    def _run(self, pk: int, event: Stop) -> None:
        try:
            download(self.store, pk, self.base_dir, cancel=event)
        except Exception:  # a download thread must not die silently; the row shows the failure
            log.exception("download %s failed", pk)
            _update(self.store, pk, status="Error: download failed")
        finally:
            with self._lock:
                self._running.pop(pk, None)
            self.store.db.close()  # this thread's connection

    def cancel(self, pk: int) -> bool:
        """Stop a running download (its files are removed) or discard a stopped one."""
        with self._lock:
            event = self._running.get(pk)
        if event is not None:
            event.set()
            return True
        mon = row(self.store, pk)
        if mon is None or mon["status"] in ("Complete", "Cancelled"):
            return False
        _fail(self.store, pk, mon["local_dir"], "Cancelled")
        return True

    def discard(self, pk: int) -> None:
        """Before a monitor row is deleted: stop its download and remove its folder."""
        with self._lock:
            event = self._running.get(pk)
        if event is not None:
            event.set()
        mon = row(self.store, pk)
        folder = mon["local_dir"] if mon else ""
        base = os.path.realpath(self.base_dir)
        if folder and os.path.realpath(folder).startswith(base + os.sep):
            shutil.rmtree(folder, ignore_errors=True)

    def resume_unfinished(self) -> None:
        for (pk,) in self.store.db.execute_sql('SELECT "id" FROM "filemonitor" WHERE "status" IN '
                                               '(\'Starting\', \'Downloading\')').fetchall():
            self.start(pk)

    def stop(self) -> None:
        """Server shutdown: running downloads stop and keep their partial files (resumed next start)."""
        with self._lock:
            running = list(self._running.values())
        for event in running:
            event.keep_partial = True
            event.set()


def cli_download(store, settings, args) -> int:
    """`torrentlite dm download URL`: in the foreground with a progress bar; Ctrl-C cancels."""
    from torrentlite.cli_dm import DmCliError, progress_bar

    base = args.dest or str(settings.data_path / "downloads")
    try:
        pk = create(store, args.url, md5sum=args.md5 or "", tags=args.tags)
    except ValueError as exc:
        raise DmCliError(str(exc))
    cancel = threading.Event()
    try:
        status = download(store, pk, base, lambda done, size: progress_bar(done, size or done), cancel)
    except KeyboardInterrupt:
        mon = row(store, pk)
        _fail(store, pk, mon["local_dir"], "Cancelled")
        status = "Cancelled"
    sys.stderr.write("\n")
    mon = row(store, pk)
    if status != "Complete":
        raise DmCliError(f"download {pk} of {args.url}: {status}")
    print(f"downloaded {os.path.join(mon['local_dir'], mon['name'])} ({mon['progress']} bytes, filemonitor {pk})")
    return 0
