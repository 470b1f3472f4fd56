"""Users, API keys and model permissions (Django's auth, as much of it as the API needs)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from torrentlite.store.db import Store
from torrentlite.store.fields import utcnow

AUTH_DDL = (
    'CREATE TABLE IF NOT EXISTS "apikey" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, '
    '"user_id" INTEGER NOT NULL UNIQUE REFERENCES "user"("id") ON DELETE CASCADE, '
    '"key" TEXT NOT NULL UNIQUE, "created" TEXT NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "user_permission" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, '
    '"user_id" INTEGER NOT NULL REFERENCES "user"("id") ON DELETE CASCADE, "codename" TEXT NOT NULL, '
    'UNIQUE ("user_id", "codename"))',
)

# What the real server's `ionusers` group may change (notes §5.3): add/change/delete per table.
IONUSERS_TABLES = (
    "analysismetrics", "chip", "content", "contentupload", "dnabarcode", "emailaddress", "eventlog",
    "experiment", "fileserver", "globalconfig", "kitinfo", "kitpart", "libmetrics", "librarykey", "location",
    "message", "plannedexperiment", "plugin", "pluginresult", "PluginResultJob", "project", "publisher",
    "qualitymetrics", "referencegenome", "results", "rig", "runtype", "sample", "sampleattribute", "sampleset",
    "samplesetitem", "template", "tfmetrics", "threeprimeadapter", "log",
)
IONUSERS_PERMISSIONS = tuple(
    f"{action}_{table}" for table in IONUSERS_TABLES for action in ("add", "change", "delete")
    if not (table == "pluginresult" and action == "delete"))

PBKDF2_ITERATIONS = 260000
# Django's default for UserProfile.last_read_news_post: "never read any news".
NEWS_NEVER_READ = "1984-11-06 00:00:00.000000"


class UserError(ValueError):
    """A user command that cannot be done (unknown user, duplicate name, bad permission)."""


@dataclass
class User:
    id: int
    username: str
    is_superuser: bool
    is_active: bool
    permissions: frozenset = field(default_factory=frozenset)

    def can(self, action: str, table: str) -> bool:
        if not self.is_active:
            return False
        return self.is_superuser or f"{action}_{table}" in self.permissions


def hash_password(password: str, salt: str | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = salt or secrets.token_hex(12)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def check_password(password: str, encoded: str | None) -> bool:
    if not encoded or encoded.count("$") != 3:
        return False
    _, iterations, salt, _ = encoded.split("$")
    return hmac.compare_digest(hash_password(password, salt, int(iterations)), encoded)


class Users:
    """User accounts of one store."""

    def __init__(self, store: Store):
        self.store = store
        self.db = store.db

    def _row(self, sql: str, params=()):
        return self.db.execute_sql(sql, params).fetchone()

    def load(self, user_id: int) -> User | None:
        row = self._row('SELECT id, username, is_superuser, is_active FROM "user" WHERE id = ?', (user_id,))
        if row is None:
            return None
        perms = frozenset(r[0] for r in self.db.execute_sql(
            'SELECT codename FROM "user_permission" WHERE user_id = ?', (user_id,)))
        return User(row[0], row[1], bool(row[2]), bool(row[3]), perms)

    def by_name(self, username: str) -> User | None:
        row = self._row('SELECT id FROM "user" WHERE username = ?', (username,))
        return self.load(row[0]) if row else None

    def require(self, username: str) -> User:
        user = self.by_name(username)
        if user is None:
            raise UserError(f"no user named {username!r}")
        return user

    def create(self, username: str, password: str | None = None, *, superuser: bool = False,
               active: bool = True, email: str = "", permissions=()) -> User:
        if not username or len(username) > 150:
            raise UserError("a username is 1 to 150 characters")
        with self.store.write():
            if self.by_name(username) is not None:
                raise UserError(f"user {username!r} already exists")
            now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
            cursor = self.db.execute_sql(
                'INSERT INTO "user" (username, first_name, last_name, email, is_active, is_superuser, is_staff, '
                'password, date_joined, last_login) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                (username, "", "", email, int(active), int(superuser), int(superuser),
                 hash_password(password) if password else "!", now, now))
            user_id = self._row('SELECT id FROM "user" WHERE username = ?', (username,))[0]
            del cursor
            self.db.execute_sql('INSERT INTO "userprofile" (user_id, name, phone_number, title, note, '
                                'last_read_news_post) VALUES (?, ?, ?, ?, ?, ?)',
                                (user_id, username, "", "user", "", NEWS_NEVER_READ))
            for codename in permissions:
                self.grant_codename(user_id, codename)
        return self.load(user_id)

    def list(self) -> list[User]:
        return [self.load(r[0]) for r in self.db.execute_sql('SELECT id FROM "user" ORDER BY id')]

    def set_password(self, username: str, password: str) -> None:
        user = self.require(username)
        with self.store.write():
            self.db.execute_sql('UPDATE "user" SET password = ? WHERE id = ?', (hash_password(password), user.id))
            self._end_sessions(user.id)

    def set_active(self, username: str, active: bool) -> None:
        user = self.require(username)
        with self.store.write():
            self.db.execute_sql('UPDATE "user" SET is_active = ? WHERE id = ?', (int(active), user.id))
            if not active:
                self._end_sessions(user.id)

    def _end_sessions(self, user_id: int) -> None:
        # A new password or a deactivation signs the user's browsers out.
        if self._row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'websession'"):
            self.db.execute_sql('DELETE FROM "websession" WHERE user_id = ?', (user_id,))

    def grant_codename(self, user_id: int, codename: str) -> None:
        self.db.execute_sql('INSERT OR IGNORE INTO "user_permission" (user_id, codename) VALUES (?, ?)',
                            (user_id, codename))

    def grant(self, username: str, codenames) -> None:
        user = self.require(username)
        known = {f"{a}_{t}" for t in self.store.registry.tables for a in ("add", "change", "delete")}
        with self.store.write():
            for codename in codenames:
                if codename not in known:
                    raise UserError(f"unknown permission {codename!r} (use add_<table>, change_<table>, "
                                    f"delete_<table>)")
                self.grant_codename(user.id, codename)

    def password_ok(self, username: str, password: str) -> User | None:
        row = self._row('SELECT id, password FROM "user" WHERE username = ?', (username,))
        if row and check_password(password, row[1]):
            user = self.load(row[0])
            return user if user.is_active else None
        return None

    # -- API keys ----------------------------------------------------------------------------
    def has_api_key(self, username: str) -> bool:
        user = self.require(username)
        return self._row('SELECT 1 FROM "apikey" WHERE user_id = ?', (user.id,)) is not None

    def api_key(self, username: str) -> str:
        """The user's key, created on first use (one 40-hex key per user, as tastypie keeps)."""
        user = self.require(username)
        row = self._row('SELECT key FROM "apikey" WHERE user_id = ?', (user.id,))
        if row:
            return row[0]
        with self.store.write():
            row = self._row('SELECT key FROM "apikey" WHERE user_id = ?', (user.id,))
            if row:
                return row[0]
            key = secrets.token_hex(20)
            self.db.execute_sql('INSERT INTO "apikey" (user_id, key, created) VALUES (?, ?, ?)',
                                (user.id, key, utcnow().isoformat()))
        return key

    def by_api_key(self, username: str, key: str) -> User | None:
        row = self._row('SELECT u.id, a.key FROM "user" u JOIN "apikey" a ON a.user_id = u.id '
                        'WHERE u.username = ?', (username,))
        if row and key and hmac.compare_digest(row[1].encode(), str(key).encode("utf-8", "replace")):
            user = self.load(row[0])
            return user if user.is_active else None
        return None

    def first_admin_password(self) -> str | None:
        """A random password for ionadmin if it never had one (only its hash is kept); None otherwise."""
        row = self._row('SELECT id, password FROM "user" WHERE username = ?', ("ionadmin",))
        if row is None or row[1] != "!":
            return None
        password = secrets.token_urlsafe(12)
        with self.store.write():
            self.db.execute_sql('UPDATE "user" SET password = ? WHERE id = ? AND password = ?',
                                (hash_password(password), row[0], "!"))
        return password

    def ensure_defaults(self) -> bool:
        """Create ionadmin (superuser) and ionuser (inactive, ionusers rights) once; True if created."""
        if self.by_name("ionadmin") is not None:
            return False
        self.create("ionadmin", superuser=True)
        self.create("ionuser", active=False, permissions=IONUSERS_PERMISSIONS)
        return True
