"""Fast row reads: raw SQL with per-table value converters, for list pages and their relations."""
from __future__ import annotations

from typing import Iterable, Optional

from peewee import SQL, fn

from torrentlite.store import rowcounts
from torrentlite.store.fields import BoolField, JSONTextField, UTCDateTimeField

_CONVERTING = (JSONTextField, UTCDateTimeField, BoolField)


class RowReader:
    """Reads rows as dicts keyed by column name, converting stored text/ints like the models do.

    Building SQL through peewee for a 60-column table costs more than running it; the hot
    paths (a page, rows by key, children of a page) use cached SQL text instead.
    """

    def __init__(self, store):
        self.store = store
        self._converters: dict = {}

    def _convert(self, table: str, names: tuple) -> list:
        key = (table, names)
        found = self._converters.get(key)
        if found is None:
            columns = self.store.model(table)._meta.columns
            found = [(i, columns[n].python_value) for i, n in enumerate(names)
                     if n in columns and isinstance(columns[n], _CONVERTING)]
            self._converters[key] = found
        return found

    def execute(self, table: str, sql: str, params: Iterable = ()) -> list[dict]:
        cursor = self.store.db.execute_sql(sql, tuple(params))
        try:
            names = tuple(d[0] for d in cursor.description or ())
        except Exception as exc:
            # apsw has no description once a statement finished, i.e. when it returned no rows.
            if type(exc).__name__ == "ExecutionCompleteError":
                return []
            raise
        converters = self._convert(table, names)
        out = []
        for row in cursor.fetchall():
            if converters:
                row = list(row)
                for i, convert in converters:
                    row[i] = convert(row[i])
            out.append(dict(zip(names, row)))
        return out

    def query(self, table: str, where=None, order: Optional[list] = None, limit: int = 0,
              offset: int = 0) -> list[dict]:
        """SELECT * with a peewee condition (only the WHERE/ORDER parts are built by peewee)."""
        model = self.store.model(table)
        q = model.select(SQL("*"))
        if where is not None:
            q = q.where(where)
        if order:
            q = q.order_by(*order)
        if limit:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset)
        sql, params = q.sql()
        return self.execute(table, sql, params)

    def where(self, table: str, condition: str, params: Iterable = ()) -> list[dict]:
        """Rows matching an SQL condition written by the caller (its values passed as ? parameters)."""
        return self.execute(table, f'SELECT * FROM "{table}" WHERE {condition}', params)

    def count(self, table: str, where=None) -> int:
        """Matching rows: a whole table's count is kept by triggers; otherwise a bare COUNT(*) (no
        subquery), which lets SQLite count from the smallest index."""
        if where is None:
            kept = rowcounts.row_count(self.store.db, table)
            if kept is not None:
                return kept
        model = self.store.model(table)
        q = model.select(fn.COUNT(SQL("*")))
        if where is not None:
            q = q.where(where)
        sql, params = q.sql()
        return self.store.db.execute_sql(sql, params).fetchone()[0]

    def where_in(self, table: str, column: str, values: list, order_desc: Optional[str] = None,
                 columns: Optional[tuple] = None) -> list[dict]:
        """Rows whose `column` is one of `values`; `columns` limits what is read (and decoded)."""
        if not values:
            return []
        marks = ",".join("?" * len(values))
        order = f' ORDER BY "{order_desc}" DESC' if order_desc else ""
        names = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        return self.execute(table, f'SELECT {names} FROM "{table}" WHERE "{column}" IN ({marks}){order}', values)

    def pairs(self, table: str, key: str, value: str, keys: list, order_desc: str) -> list[tuple]:
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        cursor = self.store.db.execute_sql(
            f'SELECT "{key}", "{value}" FROM "{table}" WHERE "{key}" IN ({marks}) ORDER BY "{order_desc}" DESC',
            tuple(keys))
        return cursor.fetchall()
