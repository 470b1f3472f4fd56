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

    Every request looks before it reuses a page or a verified key, so no commit goes unseen by the
    next reader. A look is one `PRAGMA data_version`, which moves when any *other* connection (in
    this process or another) has committed since that connection last asked:

    - usually on a connection of the mark's own that never writes, so it sees every commit, and a
      commit moves the mark once, not once per server thread (each of which would then build the
      page again); threads take turns on it, for the few microseconds of the statement;
    - on the thread's own connection when that connection is new or wrote since the thread last
      looked (its change counter moved: its writes may not be committed yet, so the other
      connection cannot see them); the mark moves when that connection's value or counter moved
      since the thread last looked there.

    Either way alone sees every commit made before the look began, so the two together do too.
    """

    def __init__(self, db):
        self._db = db
        self._mark = 0
        self._lock = threading.Lock()
        self._seen = threading.local()
        self._watch_lock = threading.Lock()
        self._watcher = None
        self._watched = None
        # A private in-memory database has no second connection to watch it.
        self._can_watch = str(db.database) not in ("", ":memory:") and "mode=memory" not in str(db.database)

    def current(self) -> int:
        conn = self._db.connection()
        # A plain call, not a statement (apsw: a method, sqlite3: an attribute): each statement lets the
        # other server threads take the interpreter lock, and getting it back costs more than it.
        changes = conn.total_changes
        if not isinstance(changes, int):
            changes = changes()
        seen = self._seen
        # The connection itself, not its id: a new connection may get a closed one's id and counters.
        if self._can_watch and getattr(seen, "conn", None) is conn and seen.changes == changes:
            with self._watch_lock:
                if self._watcher is None:
                    self._watcher = self._db._connect()  # same driver and settings as the store's own
                version = self._watcher.execute("PRAGMA data_version").fetchone()[0]
                if version != self._watched:
                    self._bump()
                    self._watched = version
            return self._mark
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if getattr(seen, "conn", None) is not conn or seen.version != version or seen.changes != changes:
            self._bump()
            seen.conn, seen.version, seen.changes = conn, version, changes
        return self._mark

    def _bump(self) -> None:
        with self._lock:
            self._mark += 1

    def close(self) -> None:
        with self._watch_lock:
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None
                self._watched = None


class PageCache:
    """Least-recently-used encoded pages keyed by change mark, resource, path, query and caller."""

    def __init__(self, db, max_bytes: int = MAX_BYTES):
        self.mark = ChangeMark(db)
        self.max_bytes = max_bytes
        self._pages: OrderedDict = OrderedDict()
        self._bytes = 0
        self._newest = 0  # the highest change mark a page was kept for
        self._building: dict = {}  # key -> Event set when the page being built for that key is kept
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
        # After the mark moves, every request in flight asks for the page at once: one builds it, the
        # others wait for that page (the same key: the same answer) instead of each building its own.
        with self._lock:
            building = self._building.get(key)
            if building is None:
                self._building[key] = threading.Event()
        if building is not None:
            building.wait()
            hit = self._get(key)
            if hit is not None:
                return hit
            return build()  # the builder failed, or the page is too large to keep
        try:
            page = build()
            if len(page[0]) <= MAX_PAGE:
                self._put(key, page)
            return page
        finally:
            with self._lock:
                self._building.pop(key).set()

    def kept(self, resource: str, path: str, query: str, user, mark: int) -> Optional[tuple[bytes, str]]:
        """The page `page` keeps for exactly this request at change mark `mark`, or None; never builds."""
        if resource not in CACHED:
            return None
        return self._get((mark, resource, path, query, user.id, user.is_superuser))

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0

    def close(self) -> None:
        self.clear()
        self.mark.close()

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
