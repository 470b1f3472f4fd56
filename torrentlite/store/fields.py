"""Column types shared by every model: one place, so sqlite3 and apsw behave the same."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import peewee
from dateutil import parser as dateparser

STORED_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1


def fits_int64(number: int) -> bool:
    """Whether SQLite can store `number` (anything larger overflows its INTEGER)."""
    return INT64_MIN <= number <= INT64_MAX


def to_utc(value) -> datetime:
    """Any datetime or ISO-ish string as an aware UTC datetime (naive input is taken as UTC)."""
    if isinstance(value, str):
        value = dateparser.isoparse(value) if "T" in value[:11] else dateparser.parse(value)
    if not isinstance(value, datetime):
        raise ValueError(f"not a datetime: {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def stored_datetime(value) -> str:
    """The text a datetime is stored as: fixed-width UTC, so text order is time order."""
    return to_utc(value).strftime(STORED_FORMAT)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTimeField(peewee.Field):
    field_type = "TEXT"

    def db_value(self, value):
        return None if value is None else stored_datetime(value)

    def python_value(self, value):
        if value is None or isinstance(value, datetime):
            return value
        if len(value) == 26:
            # The stored format is ISO 8601 with a space; fromisoformat reads it ~20x faster than strptime.
            try:
                return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
            except ValueError:
                pass
        return to_utc(value)


class JSONTextField(peewee.Field):
    """A JSON object kept as text. Unreadable or non-object text reads back as {}."""

    field_type = "TEXT"

    def db_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            return value
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    def python_value(self, value):
        if not value:
            return {}
        try:
            parsed = json.loads(value)
        except (TypeError, ValueError):
            return {}
        return parsed if isinstance(parsed, (dict, list)) else {}


class BoolField(peewee.Field):
    field_type = "INTEGER"

    def db_value(self, value):
        return None if value is None else int(bool(value))

    def python_value(self, value):
        return None if value is None else bool(value)


FIELD_CLASSES = {
    "string": peewee.TextField,
    "integer": peewee.IntegerField,
    "bigint": peewee.IntegerField,
    "float": peewee.FloatField,
    "boolean": BoolField,
    "datetime": UTCDateTimeField,
    "json": JSONTextField,
}

SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "bigint": "INTEGER", "float": "REAL",
             "boolean": "INTEGER", "datetime": "TEXT", "json": "TEXT"}
