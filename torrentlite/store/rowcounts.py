"""Row counts of the resource tables, kept in step by triggers, so an unfiltered list's
`total_count` is one lookup however many reports the box has kept."""
from __future__ import annotations

from typing import Optional

import peewee

COUNTS = "table_rows"


def _trigger(table: str, event: str) -> str:
    step, name = ("+ 1", "ai") if event == "INSERT" else ("- 1", "ad")
    return (f'CREATE TRIGGER IF NOT EXISTS "{COUNTS}_{table}_{name}" AFTER {event} ON "{table}" BEGIN '
            f'UPDATE "{COUNTS}" SET "rows" = "rows" {step} WHERE "name" = \'{table}\'; END')


def counts_ddl(table: str) -> list[str]:
    """The triggers that keep `table`'s row in the counts table in step with its inserts and deletes.

    Row-level triggers see every row a statement adds or removes, cascaded deletes included. (A
    REPLACE conflict resolution would delete rows without firing them; the store never uses it.)
    """
    return [_trigger(table, "INSERT"), _trigger(table, "DELETE")]


def create_counts(db: peewee.Database, tables) -> None:
    """Create the counts table with every table's current count, and the triggers."""
    db.execute_sql(f'CREATE TABLE IF NOT EXISTS "{COUNTS}" ("name" TEXT PRIMARY KEY NOT NULL, '
                   f'"rows" INTEGER NOT NULL) WITHOUT ROWID')
    for table in tables:
        db.execute_sql(f'INSERT OR IGNORE INTO "{COUNTS}" ("name", "rows") SELECT ?, COUNT(*) FROM "{table}"',
                       (table,))
        for stmt in counts_ddl(table):
            db.execute_sql(stmt)


def row_count(db: peewee.Database, table: str) -> Optional[int]:
    """The number of rows in `table` as of the reader's snapshot, or None if it is not counted."""
    row = db.execute_sql(f'SELECT "rows" FROM "{COUNTS}" WHERE "name" = ?', (table,)).fetchone()
    return row[0] if row else None


def drifted(execute) -> list[tuple[str, int, int]]:
    """(table, kept count, actual count) for every table whose kept count is wrong; `execute` runs
    one statement (a peewee database's `execute_sql` or a DB-API connection's `execute`)."""
    out = []
    for name, kept in execute(f'SELECT "name", "rows" FROM "{COUNTS}" ORDER BY "name"').fetchall():
        actual = execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
        if actual != kept:
            out.append((name, kept, actual))
    return out


def recount(execute) -> int:
    """Set every kept count to the table's real count; returns how many were wrong."""
    wrong = drifted(execute)
    for name, _kept, actual in wrong:
        execute(f'UPDATE "{COUNTS}" SET "rows" = ? WHERE "name" = ?', (actual, name))
    return len(wrong)
