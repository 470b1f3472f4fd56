"""The server's log: <data_dir>/logs/torrentlite.log, rotated by size, one line per request, no secrets."""
from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import time

LOG_NAME = "torrentlite.log"
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
access = logging.getLogger("torrentlite.access")

# Query parameters whose values are credentials (api_key=, password=, the plugin key's api_key=...).
_SECRET_NAME = re.compile(r"key|pass|secret|token|session|csrf|auth", re.IGNORECASE)
_PAIR = re.compile(r"([^&=;]*)=([^&;]*)")


def scrub_query(query: str) -> str:
    """The query string with the value of every credential-like parameter replaced by ***."""
    def hide(match):
        name = match.group(1)
        from urllib.parse import unquote_plus

        return f"{name}=***" if _SECRET_NAME.search(unquote_plus(name)) else match.group(0)

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
        stream.setLevel(max(level, logging.WARNING))
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


def access_log(app):
    """WSGI middleware: one log line per request (address, method, path, scrubbed query, status, size, time)."""
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
            # PATH_INFO is latin-1 text of the raw bytes; keep the line printable.
            target = target.encode("latin-1", "replace").decode("utf-8", "replace").replace("\n", "%0A")
            access.info('%s "%s %s" %s %s %.0fms', environ.get("REMOTE_ADDR", "-"),
                        environ.get("REQUEST_METHOD", "-"), target, seen.get("status", "-"),
                        seen.get("size", "-"), (time.monotonic() - started) * 1000)

    return logged
