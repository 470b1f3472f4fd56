"""A time limit per SQL statement (SQLite's progress handler) and regex functions that respect it."""
from __future__ import annotations

import threading
import time
from typing import Optional

import regex

# SQLite calls the handler every this many virtual-machine steps: often enough to stop a statement
# within milliseconds of its limit, rarely enough to cost nothing measurable.
PROGRESS_STEPS = 4000


class QueryTimeout(Exception):
    """A statement ran past the time limit and was interrupted."""

    def __init__(self, seconds: float):
        super().__init__(f"a query ran longer than {seconds:g} s")
        self.seconds = seconds


class _State(threading.local):
    seconds: Optional[float] = None
    deadline: Optional[float] = None
    interrupted: bool = False


_state = _State()


def active() -> bool:
    return _state.seconds is not None


def begin(seconds: float) -> None:
    _state.seconds, _state.deadline, _state.interrupted = seconds, None, False


def end() -> None:
    _state.seconds = _state.deadline = None


def interrupted() -> bool:
    return _state.interrupted


def statement_started() -> None:
    """Each statement gets the whole limit (called before it is executed)."""
    if _state.seconds is not None:
        _state.deadline = time.monotonic() + _state.seconds


def progress() -> int:
    """SQLite's progress handler: non-zero interrupts the running statement."""
    deadline = _state.deadline
    if deadline is not None and time.monotonic() > deadline:
        _state.interrupted = True
        return 1
    return 0


def set_handler(connection, handler) -> None:
    """Install (or with None remove) a progress handler on an sqlite3 or apsw connection."""
    if hasattr(connection, "set_progress_handler"):
        connection.set_progress_handler(handler, PROGRESS_STEPS)
    else:
        connection.setprogresshandler(handler, PROGRESS_STEPS)


def _search(pattern, value, flags: int) -> bool:
    if pattern is None or value is None:
        return False
    deadline = _state.deadline
    timeout = None if deadline is None else max(deadline - time.monotonic(), 0.001)
    try:
        # regex releases the interpreter lock while it matches, so other requests carry on meanwhile.
        return regex.search(pattern, str(value), flags, timeout=timeout) is not None
    except TimeoutError:
        # The statement's time is used up: fail it (SQLite reports the function's error).
        _state.interrupted = True
        raise
    except regex.error:
        return False


def regexp(pattern, value) -> bool:
    """SQL tl_regexp(pattern, value): PostgreSQL's `~` (case-sensitive search)."""
    return _search(pattern, value, 0)


def iregexp(pattern, value) -> bool:
    """SQL tl_iregexp(pattern, value): PostgreSQL's `~*` (case-insensitive search)."""
    return _search(pattern, value, regex.IGNORECASE)


def pattern_error(pattern: str, ignore_case: bool = False) -> Optional[str]:
    """Why `pattern` is not a regular expression, or None."""
    try:
        regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except regex.error as exc:
        return str(exc)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        return str(exc)
    return None
