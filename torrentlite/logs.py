"""The server's logs in <data_dir>/logs/: torrentlite.log (events, errors) and access.log (requests, no secrets)."""
from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote_plus

LOG_NAME = "torrentlite.log"
ACCESS_LOG_NAME = "access.log"
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Query parameters whose values are credentials (api_key=, password=, the plugin key's api_key=...).
_SECRET_NAME = re.compile(r"key|pass|secret|token|session|csrf|auth", re.IGNORECASE)
_PAIR = re.compile(r"([^&=;]*)=([^&;]*)")


def scrub_query(query: str) -> str:
    """The query string with the value of every credential-like parameter replaced by ***."""
    if not _SECRET_NAME.search(unquote_plus(query)):
        return query

    def hide(match):
        return f"{match.group(1)}=***" if _SECRET_NAME.search(unquote_plus(match.group(1))) else match.group(0)

    return _PAIR.sub(hide, query)


def setup_logging(settings, console: bool = True) -> logging.Handler | None:
    """Send torrentlite's log records to the data directory's rotating log file (and stderr).

    Returns the file handler, or None when the data directory does not exist yet (it is set up
    again once it does).
    """
    level = getattr(logging, settings.log_level.upper())
    root = logging.getLogger("torrentlite")
    root.setLevel(level)
    formatter = logging.Formatter(FORMAT)
    for handler in list(root.handlers):
        if getattr(handler, "_torrentlite", False):
            root.removeHandler(handler)
            handler.close()
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        stream._torrentlite = True
        root.addHandler(stream)
    logs = settings.logs_path
    try:
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / LOG_NAME
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=int(settings.log_max_mb * 1024 * 1024),
                                                       backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        root.warning("cannot write the log file in %s: %s", logs, exc)
        return None
    handler.setFormatter(formatter)
    handler._torrentlite = True
    root.addHandler(handler)
    return handler


class AccessLog:
    """Request lines in logs/access.log, rotated by size like the main log.

    Written through a buffer that a thread flushes every second (and :meth:`close` at the end),
    because a logging record flushed per request costs more than answering a cached page.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int = BACKUPS, flush_every: float = 1.0):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.lock = threading.Lock()
        self._open()
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, args=(flush_every,), daemon=True,
                                         name="torrentlite-access-log")
        self._flusher.start()

    def _open(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.file = os.fdopen(fd, "a", encoding="utf-8", errors="replace", buffering=1 << 16)
        self.size = self.file.tell()

    def write(self, line: str) -> None:
        with self.lock:
            if self.file.closed:
                return
            self.file.write(line)
            self.size += len(line)
            if self.size >= self.max_bytes:
                self._rotate()

    def _rotate(self) -> None:
        self.file.close()
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._open()

    def flush(self) -> None:
        with self.lock:
            if not self.file.closed:
                self.file.flush()

    def _flush_loop(self, every: float) -> None:
        while not self._closed.wait(every):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        with self.lock:
            if not self.file.closed:
                self.file.close()


def open_access_log(settings) -> AccessLog | None:
    """The access log of this data directory, or None when the log level leaves requests out."""
    if getattr(logging, settings.log_level.upper()) > logging.INFO:
        return None
    settings.logs_path.mkdir(parents=True, exist_ok=True)
    return AccessLog(settings.logs_path / ACCESS_LOG_NAME, int(settings.log_max_mb * 1024 * 1024))


def access_log(app, log: AccessLog | None):
    """WSGI middleware: one line per request (address, method, path, scrubbed query, status, size, time)."""
    if log is None:
        return app

    def logged(environ, start_response):
        started = time.monotonic()
        seen = {}

        def start(status, headers, exc_info=None):
            seen["status"] = status.split(" ", 1)[0]
            for name, value in headers:
                if name.lower() == "content-length":
                    seen["size"] = value
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            yield from app(environ, start)
        finally:
            query = environ.get("QUERY_STRING", "")
            target = environ.get("PATH_INFO", "") + (f"?{scrub_query(query)}" if query else "")
            # PATH_INFO is latin-1 text of the raw bytes; keep the line printable and on one line.
            target = target.encode("latin-1", "replace").decode("utf-8", "replace")
            target = target.replace("\n", "%0A").replace("\r", "%0D").replace('"', "%22")
            log.write(f'{time.strftime("%Y-%m-%d %H:%M:%S")} {environ.get("REMOTE_ADDR", "-")} '
                      f'"{environ.get("REQUEST_METHOD", "-")} {target}" {seen.get("status", "-")} '
                      f'{seen.get("size", "-")} {(time.monotonic() - started) * 1000:.0f}ms\n')

    return logged
