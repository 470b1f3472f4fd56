"""Trigram indexes (SQLite FTS5) on the text columns people search, kept in step by triggers.

A substring filter (`contains`, `icontains`, `startswith`, Arvados `like`...) on an indexed column
first asks the index for the rows holding every trigram of the needle, then applies the exact
condition to those rows only; the index narrows, it never decides. So answers and case rules stay
exactly those of the scan, and the cost follows the number of matches, not the size of the table.
"""
from __future__ import annotations

import threading
import time
import weakref
from typing import Optional

import peewee

# table -> the columns searched by people (run, experiment, plan, sample and project names).
SEARCHED = {
    "results": ("resultsName",),
    "experiment": ("expName", "displayName"),
    "plannedexperiment": ("planName", "planDisplayedName"),
    "sample": ("name", "displayedName"),
    "project": ("name",),
}
# The trigram tokenizer folds case (its own Unicode folding, one code point to one), so the
# index answers a superset of every case-insensitive match; the exact condition does the rest.
TOKENIZER = "trigram case_sensitive 0"
MIN_NEEDLE = 3  # a trigram index cannot narrow a needle shorter than one trigram
# Past this share of the table, reading the matches through the index costs more than one pass
# over the table (measured on 100,000 reports: 11 % of rows 12 ms vs 25 ms, 25 % 16 ms vs 8 ms).
SCAN_FRACTION = 0.15
GRAMS_ASKED = 3  # the rarest trigrams asked of the index: about as selective as the whole needle
INLINE_ROWS = 500  # up to this many rows found by the index are named in the query itself


def index_name(table: str) -> str:
    return f"fts_{table}"


def vocabulary_name(table: str) -> str:
    return f"fts_{table}_rows"


def _quoted(names) -> str:
    return ", ".join(f'"{n}"' for n in names)


def search_ddl(table: str, columns: tuple[str, ...]) -> list[str]:
    """The external-content FTS5 table over `table` and the triggers that keep it in step."""
    fts = index_name(table)
    cols = _quoted(columns)
    new = ", ".join(f'new."{c}"' for c in columns)
    old = ", ".join(f'old."{c}"' for c in columns)
    changed = " OR ".join(f'old."{c}" IS NOT new."{c}"' for c in columns)
    return [
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{fts}" USING fts5({cols}, content="{table}", '
        f"content_rowid=\"id\", tokenize='{TOKENIZER}')",
        # How many rows hold each trigram: tells a rare needle from a common one before searching.
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{vocabulary_name(table)}" USING fts5vocab("{fts}", \'row\')',
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_ai" AFTER INSERT ON "{table}" BEGIN '
        f'INSERT INTO "{fts}"(rowid, {cols}) VALUES (new."id", {new}); END',
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_ad" AFTER DELETE ON "{table}" BEGIN '
        f'INSERT INTO "{fts}"("{fts}", rowid, {cols}) VALUES (\'delete\', old."id", {old}); END',
        # Only when a searched column changes: most writes to a report touch other columns.
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_au" AFTER UPDATE ON "{table}" WHEN {changed} BEGIN '
        f'INSERT INTO "{fts}"("{fts}", rowid, {cols}) VALUES (\'delete\', old."id", {old}); '
        f'INSERT INTO "{fts}"(rowid, {cols}) VALUES (new."id", {new}); END',
    ]


def create_indexes(db: peewee.Database, tables) -> None:
    """Create every index whose table exists in `tables`, and fill it from the rows already there."""
    for table, columns in SEARCHED.items():
        if table not in tables:
            continue
        for stmt in search_ddl(table, columns):
            db.execute_sql(stmt)
        db.execute_sql(f'INSERT INTO "{index_name(table)}"("{index_name(table)}") VALUES (\'rebuild\')')


def is_searched(table: str, column: str) -> bool:
    return column in SEARCHED.get(table, ())


def literal_runs(like_pattern: str) -> list[str]:
    """The literal stretches of a SQL LIKE pattern (`%`, `_` wildcards, backslash escapes)."""
    runs, current, chars = [], [], iter(like_pattern)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, "\\"))
        elif ch in "%_":
            runs.append("".join(current))
            current = []
        else:
            current.append(ch)
    runs.append("".join(current))
    return [r for r in runs if r]


class _TrigramCounts:
    """Rows per trigram, remembered for a while: the choice between index and scan needs only a
    rough figure, and counting a common trigram's rows reads its whole list (about 1 ms)."""

    TTL = 300.0
    SIZE = 4096

    def __init__(self):
        self._by_db: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def rows(self, db: peewee.Database, table: str, gram: str) -> int:
        now = time.monotonic()
        with self._lock:
            cache = self._by_db.setdefault(db, {})
            hit = cache.get((table, gram))
        if hit is not None and now - hit[1] < self.TTL:
            return hit[0]
        row = db.execute_sql(f'SELECT "doc" FROM "{vocabulary_name(table)}" WHERE "term" = ?', (gram,)).fetchone()
        count = row[0] if row else 0
        with self._lock:
            if len(cache) >= self.SIZE:
                cache.clear()
            cache[(table, gram)] = (count, now)
        return count


_COUNTS = _TrigramCounts()


def _grams_by_rows(db: peewee.Database, table: str, needles) -> list[tuple[int, str]]:
    """Every trigram of the needles with (an estimate of) the rows holding it, rarest first.

    The estimate looks up the trigram lower-cased; one folded differently by lower() than by the
    tokenizer counts 0 rows, so the index is tried, and is then at worst as slow as the scan.
    """
    grams = {n[i:i + 3] for n in needles for i in range(len(n) - 2)}
    return sorted((_COUNTS.rows(db, table, gram.lower()), gram) for gram in grams)


def narrowing(db: peewee.Database, table: str, column: str, pk_field: peewee.Field, needles,
              case_insensitive: bool) -> Optional[peewee.Node]:
    """`pk IN (rows whose column holds every needle as a substring, case folded)`, or None. Call it
    inside the transaction that reads with the condition: it may name the rows it found.

    None when the index cannot help (no needle as long as a trigram, or a needle so common that
    a scan is cheaper) or might not answer a superset: a case-insensitive match of a non-ASCII
    needle follows Python's lower(), whose mapping is not always the tokenizer's one-to-one
    folding. The caller then scans, as before.
    """
    usable = [n for n in needles if len(n) >= MIN_NEEDLE]
    if not is_searched(table, column) or not usable:
        return None
    if case_insensitive and not all(n.isascii() for n in needles):
        return None
    rows = db.execute_sql(f'SELECT max("id") FROM "{table}"').fetchone()[0] or 0
    ranked = _grams_by_rows(db, table, usable)
    if ranked[0][0] > SCAN_FRACTION * rows:
        return None
    fts = index_name(table)
    # Every row holding the needles holds each of their trigrams, so asking for the rarest few
    # still finds them all, and reads far less than the needles as phrases would: a phrase reads
    # the row list of each of its trigrams, and some ("run", "Aut") are in every row. Each trigram
    # is quoted (quotes doubled inside) and folded by the tokenizer as the indexed text was.
    terms = " AND ".join('"' + gram.replace('"', '""') + '"' for _rows, gram in ranked[:GRAMS_ASKED])
    match = (f'SELECT rowid FROM "{fts}" WHERE "{fts}" MATCH ?', [f'{{{column}}} : ({terms})'])
    # A list asks twice (its count, then its page): when the index names few rows, name them, so
    # the second asking costs nothing. The caller reads in the same transaction, so both see the
    # same rows.
    found = [r[0] for r in db.execute_sql(f"{match[0]} LIMIT {INLINE_ROWS + 1}", match[1]).fetchall()]
    if len(found) <= INLINE_ROWS:
        return pk_field.in_(found)
    return pk_field.in_(peewee.SQL(f"({match[0]})", match[1]))
