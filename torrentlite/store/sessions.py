"""Browser sessions: a random cookie token stored (hashed) server-side, with a per-session CSRF token."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Optional

from torrentlite.store.db import Store

COOKIE = "tlsession"
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
LIFETIME = 12 * 3600.0
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_DDL = ('CREATE TABLE IF NOT EXISTS "websession" ("key_hash" TEXT PRIMARY KEY, '
        '"user_id" INTEGER NOT NULL REFERENCES "user"("id") ON DELETE CASCADE, "csrf" TEXT NOT NULL, '
        '"expires" REAL NOT NULL)')


@dataclass(frozen=True)
class Session:
    user_id: int
    csrf: str
    expires: float


def _hash(token: str) -> str:
    # Only a hash is stored: reading the database does not yield a usable cookie.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def cookie_token(headers) -> Optional[str]:
    """The session token of a request's Cookie header, or None."""
    try:
        raw = headers.get("Cookie") or ""
    except UnicodeError:  # header bytes that are not UTF-8 hold no session of ours
        return None
    if COOKIE not in raw:
        return None
    try:
        jar = SimpleCookie()
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


class Sessions:
    """Sign-in sessions of one store; expired sessions are dropped when a new one is made."""

    def __init__(self, store: Store, lifetime: float = LIFETIME, clock=time.time):
        self.store = store
        self.lifetime = lifetime
        self.clock = clock
        self._ready = False

    def _ensure_table(self) -> None:
        if not self._ready:
            with self.store.write():
                self.store.db.execute_sql(_DDL)
            self._ready = True

    def create(self, user_id: int) -> tuple[str, Session]:
        """A new session for `user_id`: (cookie token, session)."""
        self._ensure_table()
        token = secrets.token_urlsafe(32)
        session = Session(user_id, secrets.token_urlsafe(24), self.clock() + self.lifetime)
        with self.store.write():
            self.store.db.execute_sql('DELETE FROM "websession" WHERE expires < ?', (self.clock(),))
            self.store.db.execute_sql('INSERT INTO "websession" (key_hash, user_id, csrf, expires) VALUES (?, ?, ?, ?)',
                                      (_hash(token), user_id, session.csrf, session.expires))
        return token, session

    def get(self, token: Optional[str]) -> Optional[Session]:
        """The live session of a cookie token; None when unknown or expired."""
        if not token or len(token) > 200:
            return None
        self._ensure_table()
        row = self.store.db.execute_sql('SELECT user_id, csrf, expires FROM "websession" WHERE key_hash = ?',
                                        (_hash(token),)).fetchone()
        if row is None or row[2] < self.clock():
            return None
        return Session(row[0], row[1], row[2])

    def end(self, token: Optional[str]) -> None:
        if not token:
            return
        self._ensure_table()
        with self.store.write():
            self.store.db.execute_sql('DELETE FROM "websession" WHERE key_hash = ?', (_hash(token),))


def csrf_ok(session: Session, offered: Optional[str]) -> bool:
    return bool(offered) and hmac.compare_digest(session.csrf, offered)
