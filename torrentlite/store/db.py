"""The SQLite store: connection settings, schema version and migrations, write transactions."""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import peewee

from torrentlite.store import rowcounts, search, time_limit
from torrentlite.store.dm_schema import DM_DDL
from torrentlite.store.models import build_models, schema_ddl
from torrentlite.store.registry import Registry, load_registry
from torrentlite.store.rows import RowReader

SCHEMA_VERSION = 5
try:
    import apsw
    _DB_ERRORS: tuple = (peewee.PeeweeException, sqlite3.Error, TimeoutError, apsw.Error)
except ImportError:  # the sqlite3 driver needs no apsw
    _DB_ERRORS = (peewee.PeeweeException, sqlite3.Error, TimeoutError)

PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("synchronous", "normal"),
    ("cache_size", -4000),  # KiB per connection; one connection per server thread
    ("temp_store", "memory"),
)


class StoreError(Exception):
    """The database cannot be used (wrong version, unreadable file)."""


def database_problem(exc: BaseException):
    """A one-line explanation when `exc` means the database file cannot be used, else None."""
    import sqlite3

    kinds = [StoreError, peewee.DatabaseError, sqlite3.DatabaseError]
    try:
        import apsw

        kinds.append(apsw.Error)
    except ImportError:  # the sqlite3 driver needs no apsw
        pass
    if not isinstance(exc, tuple(kinds)):
        return None
    if isinstance(exc, StoreError):
        return str(exc)
    return (f"the database cannot be used ({type(exc).__name__}: {exc}). If the file is damaged, "
            f"`torrentlite check` tells more and `torrentlite restore` brings back a backup.")


class _CountingMixin:
    """Counts statements per thread, so tests can assert a bounded number of queries per page."""

    _counter = threading.local()

    def execute_sql(self, sql, params=None, *args, **kwargs):
        self._counter.n = getattr(self._counter, "n", 0) + 1
        time_limit.statement_started()
        return super().execute_sql(sql, params, *args, **kwargs)

    @property
    def queries_executed(self) -> int:
        return getattr(self._counter, "n", 0)


class CountingSqliteDatabase(_CountingMixin, peewee.SqliteDatabase):
    pass


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def make_database(path: str, driver: str = "apsw") -> peewee.SqliteDatabase:
    """A peewee database for `path` using the sqlite3 or apsw driver, with our pragmas and functions."""
    kwargs = {"pragmas": PRAGMAS, "timeout": 30}
    if driver == "apsw":
        from playhouse.apsw_ext import APSWDatabase

        cls = type("CountingAPSWDatabase", (_CountingMixin, APSWDatabase), {})
        db = cls(path, **kwargs)
    elif driver == "sqlite3":
        db = CountingSqliteDatabase(path, check_same_thread=False, **kwargs)
    else:
        raise StoreError(f"unknown database driver {driver!r} (use 'apsw' or 'sqlite3')")
    # peewee hands apsw the deterministic flag positionally, which apsw refuses; sqlite3 takes it.
    deterministic = True if driver == "sqlite3" else None
    for fn, name, nargs in ((time_limit.regexp, "tl_regexp", 2), (time_limit.iregexp, "tl_iregexp", 2),
                            (_lower, "tl_lower", 1)):
        db.register_function(fn, name, nargs, deterministic=deterministic)
    return db


# Each migration takes the schema from version n-1 to n. Version 1 is the first release's schema;
# version 2 adds a column to user profiles, version 3 the trigram search indexes, version 4 the
# data-management tables, version 5 the row counts kept by triggers.
def _migrate_to_1(store: "Store") -> None:
    from torrentlite.store.users import AUTH_DDL

    for stmt in list(schema_ddl(store.registry)) + list(AUTH_DDL):
        store.db.execute_sql(stmt)


def _migrate_to_2(store: "Store") -> None:
    """User profiles gain `last_read_news_post` (a new file already has the column from version 1)."""
    from torrentlite.store.users import NEWS_NEVER_READ

    columns = {row[1] for row in store.db.execute_sql('PRAGMA table_info("userprofile")').fetchall()}
    if "last_read_news_post" not in columns:
        store.db.execute_sql('ALTER TABLE "userprofile" ADD COLUMN "last_read_news_post" TEXT')
    store.db.execute_sql('UPDATE "userprofile" SET "last_read_news_post" = ? WHERE "last_read_news_post" IS NULL',
                         (NEWS_NEVER_READ,))


def _migrate_to_3(store: "Store") -> None:
    search.create_indexes(store.db, store.registry.tables)


def _migrate_to_4(store: "Store") -> None:
    """Data management: file sets, per-report category states, the action journal (new tables only)."""
    for stmt in DM_DDL:
        store.db.execute_sql(stmt)


def _migrate_to_5(store: "Store") -> None:
    rowcounts.create_counts(store.db, store.registry.tables)


MIGRATIONS = {1: _migrate_to_1, 2: _migrate_to_2, 3: _migrate_to_3, 4: _migrate_to_4, 5: _migrate_to_5}


def create_private(path: str) -> None:
    """Create the database file readable by its owner only, before SQLite creates it (and its -wal
    and -shm files, which take the database file's mode) with the process umask."""
    if path == ":memory:" or os.path.exists(path) or not os.path.isdir(os.path.dirname(path) or "."):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


class _TimeLimit:
    """The context of `Store.time_limit` (a class: every API request enters one, and a generator costs more)."""

    __slots__ = ("store", "seconds", "connection")

    def __init__(self, store: "Store", seconds: float | None):
        self.store = store
        self.seconds = seconds
        self.connection = None

    def __enter__(self) -> None:
        if not self.seconds or time_limit.active():
            return
        self.connection = self.store.db.connection()
        time_limit.begin(self.seconds)
        time_limit.set_handler(self.connection, time_limit.progress)

    def __exit__(self, kind, exc, traceback) -> bool:
        if self.connection is None:
            return False
        try:
            if (exc is not None and not isinstance(exc, time_limit.QueryTimeout) and time_limit.interrupted()
                    and isinstance(exc, _DB_ERRORS)):
                raise time_limit.QueryTimeout(self.seconds) from exc
        finally:
            time_limit.set_handler(self.connection, None)
            time_limit.end()
        return False


class Store:
    """One SQLite file with the registry's tables; the only way the rest of the server reaches data."""

    def __init__(self, path: Path | str, driver: str = "apsw", registry: Registry | None = None):
        self.path = str(path)
        create_private(self.path)
        self.registry = registry or load_registry()
        self.db = make_database(self.path, driver)
        self.models = build_models(self.registry, self.db)
        self.reader = RowReader(self)
        self._write_lock = threading.RLock()

    def model(self, table: str):
        return self.models[table]

    def schema_version(self) -> int:
        self.db.execute_sql('CREATE TABLE IF NOT EXISTS "schema_version" (version INTEGER NOT NULL)')
        row = self.db.execute_sql('SELECT MAX(version) FROM "schema_version"').fetchone()
        return row[0] or 0

    def migrate(self) -> int:
        """Bring the file to SCHEMA_VERSION; returns the version found before."""
        with self.write():
            found = self.schema_version()
            if found > SCHEMA_VERSION:
                raise StoreError(f"database {self.path} has schema version {found}; this torrentlite "
                                 f"understands up to {SCHEMA_VERSION}. Upgrade torrentlite.")
            for version in range(found + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](self)
                self.db.execute_sql('INSERT INTO "schema_version" (version) VALUES (?)', (version,))
        return found

    @contextmanager
    def write(self) -> Iterator[peewee.SqliteDatabase]:
        """One short write transaction. Writers queue on a lock, so they never fight for SQLite's."""
        with self._write_lock:
            if self.db.in_transaction():
                with self.db.atomic():
                    yield self.db
            else:
                with self.db.atomic("IMMEDIATE"):
                    yield self.db

    @contextmanager
    def read(self) -> Iterator[peewee.SqliteDatabase]:
        """A consistent snapshot for a multi-query read (a list page and its relations)."""
        if self.db.in_transaction():
            yield self.db
            return
        with self.db.atomic("DEFERRED"):
            yield self.db

    def time_limit(self, seconds: float | None) -> "_TimeLimit":
        """Interrupt any statement this thread runs for longer than `seconds` (then QueryTimeout).

        The transaction it ran in is rolled back as for any error; the connection stays usable.
        """
        return _TimeLimit(self, seconds)

    def checkpoint(self, mode: str = "PASSIVE") -> tuple:
        """Copy the WAL into the main file (TRUNCATE also empties the WAL); (busy, wal pages, copied)."""
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(mode)
        if not os.path.exists(self.path):
            return (0, 0, 0)
        return tuple(self.db.execute_sql(f"PRAGMA wal_checkpoint({mode})").fetchone())

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()
