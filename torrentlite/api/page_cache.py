"""Rendered GET pages of the most-read resources, kept until the database changes.

LIMS scripts and the pages poll the same lists over and over; building a 20-report page costs
about a millisecond of Python under the interpreter lock, sending stored bytes almost nothing.
A page is reused only while the database is provably unchanged (see `ChangeMark`), so a reused
page is byte for byte the page that would be built now.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Optional

# Resources whose objects are built from database rows alone: no file on disk, no clock and no
# scheduler state goes into them (plugin, pluginresult and the monitor view do read those).
CACHED = frozenset((
    "results", "compositeresult", "experiment", "experimentanalysissettings", "libmetrics", "tfmetrics",
    "analysismetrics", "qualitymetrics", "project", "sample", "plannedexperiment", "plannedexperimentdb",
    "plantemplatesummary", "chip", "kitinfo", "referencegenome", "barcodeset", "dnabarcode", "runtype",
    "applproduct", "applicationgroup",
))
MAX_BYTES = 16 * 1024 * 1024
MAX_PAGE = 512 * 1024  # a page this large is rare and cheap to rebuild compared with its weight


class ChangeMark:
    """A number that moves whenever the database may hold something it did not hold before.

    Each thread reads its own connection's `PRAGMA data_version` (moves when any other
    connection, in this process or another, commits) and its total changes (moves when this
    connection writes); when either moved since that thread last looked, the shared mark moves.
    Every request looks before it reuses a page or a verified key, so no commit goes unseen by
    the next reader.
    """

    def __init__(self, db):
        self._db = db
        self._mark = 0
        self._lock = threading.Lock()
        self._seen = threading.local()

    def current(self) -> int:
        conn = self._db.connection()
        # One statement: each one lets the other server threads take the interpreter lock, and getting
        # it back costs more than the statement. The change counter is a plain call (apsw: a method,
        # sqlite3: an attribute).
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        changes = conn.total_changes
        if not isinstance(changes, int):
            changes = changes()
        seen = self._seen
        # The connection itself, not its id: a new connection may get a closed one's id and counters.
        if getattr(seen, "conn", None) is not conn or seen.version != version or seen.changes != changes:
            with self._lock:
                self._mark += 1
            seen.conn, seen.version, seen.changes = conn, version, changes
        return self._mark


class PageCache:
    """Least-recently-used encoded pages keyed by change mark, resource, path, query and caller."""

    def __init__(self, db, max_bytes: int = MAX_BYTES):
        self.mark = ChangeMark(db)
        self.max_bytes = max_bytes
        self._pages: OrderedDict = OrderedDict()
        self._bytes = 0
        self._newest = 0  # the highest change mark a page was kept for
        self._lock = threading.Lock()

    def page(self, resource: str, path: str, query: str, user, build: Callable[[], tuple[bytes, str]],
             mark: Optional[int] = None) -> tuple[bytes, str]:
        """The (body, content type) for this request: reused, or built by `build` and kept.

        `mark` is the change mark this request already read (before it authenticated its caller).
        """
        if resource not in CACHED:
            return build()
        key = (self.mark.current() if mark is None else mark, resource, path, query, user.id, user.is_superuser)
        hit = self._get(key)
        if hit is not None:
            return hit
        page = build()
        if len(page[0]) <= MAX_PAGE:
            self._put(key, page)
        return page

    def kept(self, resource: str, path: str, query: str, user, mark: int) -> Optional[tuple[bytes, str]]:
        """The page `page` keeps for exactly this request at change mark `mark`, or None; never builds."""
        if resource not in CACHED:
            return None
        return self._get((mark, resource, path, query, user.id, user.is_superuser))

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0

    def _get(self, key) -> Optional[tuple[bytes, str]]:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def _put(self, key, page) -> None:
        mark = key[0]
        with self._lock:
            if key in self._pages or mark < self._newest:
                return  # a page of an older mark can never be asked for again
            if mark > self._newest:
                self._newest = mark
                for old in [k for k in self._pages if k[0] < mark]:
                    self._bytes -= len(self._pages.pop(old)[0])
            self._pages[key] = page
            self._bytes += len(page[0])
            while self._bytes > self.max_bytes and self._pages:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= len(dropped[0])
