"""Who is calling: ApiKey, HTTP Basic, PluginKey, a browser session and (optionally) trusted loopback clients."""
from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
from typing import Optional

from torrentlite.api.cross_site import HostNames, foreign_reason
from torrentlite.api.errors import ApiError
from torrentlite.store.db import Store
from torrentlite.store.fields import fits_int64
from torrentlite.store.sessions import CSRF_HEADER, SAFE_METHODS, Sessions, cookie_token, csrf_ok
from torrentlite.store.users import User, Users

LOOPBACK = ("127.0.0.1", "127.0.1.1", "::1", "::ffff:127.0.0.1")
PLUGIN_USER = "ionuser"
log = logging.getLogger("torrentlite.api")


class Authenticator:
    """Resolves a request's credentials to a User; None when nothing valid was offered."""

    def __init__(self, store: Store, trust_loopback: bool, hosts: Optional[HostNames] = None):
        self.store = store
        self.users = Users(store)
        self.trust_loopback = trust_loopback
        self.hosts = hosts or HostNames()
        self.sessions = Sessions(store)
        # username -> (change mark, key, User) of the last key verified against the database: while
        # the mark has not moved, no row (key, user, permission) can differ from what was read then.
        self._verified_keys: dict = {}
        # The same for HTTP Basic, with a keyed digest of the password instead of the password: checking
        # a password against its stored hash takes hundreds of thousands of hash rounds on purpose.
        self._verified_passwords: dict = {}
        self._digest_key = secrets.token_bytes(32)

    def foreign(self, method: str, headers) -> Optional[str]:
        """Why ambient trust (loopback, a session) must not apply to this request; None when it may."""
        return foreign_reason(method, headers, self.hosts)

    def loopback_refusal(self, method: str, headers, remote_addr: Optional[str]) -> Optional[str]:
        """The reason a loopback client is not trusted for this request, or None (trusted, or not loopback)."""
        if not self.trust_loopback or remote_addr not in LOOPBACK:
            return None
        return self.foreign(method, headers)

    def authenticate(self, headers, params: dict, remote_addr: Optional[str], method: str = "GET",
                     mark: Optional[int] = None) -> Optional[User]:
        """The caller, or None. A session cookie authenticates an unsafe `method` only with the session's
        CSRF token in the X-CSRFToken header (403 otherwise), and a safe one only when not sent for
        another site (GETs such as plugin stop/ change things).

        `mark` is the database's change mark (`page_cache.ChangeMark`) read by this request just now;
        with it an API key verified at the same mark is taken without asking the database again."""
        scheme, credentials = _authorization(headers)
        if scheme == "basic":
            user = self._basic(credentials.strip(), mark)
            if user:
                return user
        if scheme == "pluginkey":
            user = self._plugin_key(*_split_pair(credentials.strip()))
            if user:
                return user
        if "pluginresult" in params and "api_key" in params:
            user = self._plugin_key(params["pluginresult"][-1], params["api_key"][-1])
            if user:
                return user
        if scheme == "apikey":
            username, key = _split_pair(credentials.strip())
            user = self._api_key(username, key, mark)
            if user:
                return user
        if "username" in params and "api_key" in params:
            user = self._api_key(params["username"][-1], params["api_key"][-1], mark)
            if user:
                return user
        user = self.session_user(headers, method)
        if user:
            return user
        if self.trust_loopback and remote_addr in LOOPBACK:
            reason = self.foreign(method, headers)
            if reason is None:
                return self.users.by_name("ionadmin")
            log.info("loopback trust refused for %s: %s", method, reason)
        return None

    def session_user(self, headers, method: str = "GET") -> Optional[User]:
        session = self.sessions.get(cookie_token(headers))
        if session is None:
            return None
        user = self.users.load(session.user_id)
        if user is None or not user.is_active:
            return None
        if method.upper() in SAFE_METHODS:
            reason = self.foreign(method, headers)
            if reason is not None:
                log.info("session not accepted for %s: %s", method, reason)
                return None
        elif not csrf_ok(session, headers.get(CSRF_HEADER)):
            # The token, which only this server's pages hold, shows the request is not another site's.
            raise ApiError(403, {"error": "CSRF token missing or incorrect: a request authenticated by the "
                                          "session cookie must send the session's X-CSRFToken header."})
        return user

    def remembered(self, headers, params: dict, mark: int) -> Optional[User]:
        """The caller `authenticate` would find, when its API key (the ApiKey header, or the username and
        api_key parameters without any Authorization header) or its HTTP Basic password was verified at
        change mark `mark`; None when only `authenticate` can tell. Reads no database."""
        scheme, credentials = _authorization(headers)
        if scheme == "basic":  # tried first, whatever else the request carries
            pair = _basic_pair(credentials.strip())
            return self._remembered_password(*pair, mark) if pair else None
        if "pluginresult" in params:  # a plugin's key in the query is tried before an API key
            return None
        if scheme == "apikey":
            return self._remembered_key(*_split_pair(credentials.strip()), mark)
        if scheme == "" and "username" in params and "api_key" in params:
            return self._remembered_key(params["username"][-1], params["api_key"][-1], mark)
        return None

    def _remembered_key(self, username: str, key: str, mark: int) -> Optional[User]:
        known = self._verified_keys.get(username)
        if known is not None and known[0] == mark and key and hmac.compare_digest(
                known[1], str(key).encode("utf-8", "replace")):
            return known[2]
        return None

    def _api_key(self, username: str, key: str, mark: Optional[int]) -> Optional[User]:
        if mark is None or not key:
            return self.users.by_api_key(username, key)
        user = self._remembered_key(username, key, mark)
        if user is not None:
            return user
        user = self.users.by_api_key(username, key)
        if user is not None:  # only keys found valid are kept, so wrong guesses cannot fill memory
            self._verified_keys[username] = (mark, str(key).encode("utf-8", "replace"), user)
        return user

    def _password_digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._digest_key, f"{username}\0{password}".encode("utf-8", "replace"), "sha256").digest()

    def _remembered_password(self, username: str, password: str, mark: int) -> Optional[User]:
        known = self._verified_passwords.get(username)
        if known is not None and known[0] == mark and hmac.compare_digest(
                known[1], self._password_digest(username, password)):
            return known[2]
        return None

    def _basic(self, credentials: str, mark: Optional[int] = None) -> Optional[User]:
        pair = _basic_pair(credentials)
        if pair is None:
            return None
        if mark is not None:
            user = self._remembered_password(*pair, mark)
            if user is not None:
                return user
        user = self.users.password_ok(*pair)
        if user is not None and mark is not None:  # only passwords found right are kept
            self._verified_passwords[pair[0]] = (mark, self._password_digest(*pair), user)
        return user

    def _plugin_key(self, pk: str, key: str) -> Optional[User]:
        """A running (or finished) plugin's key: the request runs as ionuser, like on Torrent Suite."""
        try:
            pr_id = int(pk)
        except (TypeError, ValueError):
            return None
        if not fits_int64(pr_id):
            return None
        row = self.store.db.execute_sql('SELECT apikey FROM "pluginresult" WHERE id = ?', (pr_id,)).fetchone()
        if not row or not row[0] or not key or not hmac.compare_digest(row[0].encode(),
                                                                         key.encode("utf-8", "replace")):
            return None
        user = self.users.by_name(PLUGIN_USER) or self.users.by_name("ionadmin")
        if user is None:
            return None
        # Plugin jobs must be able to report back even though ionuser ships inactive; they get
        # ionuser's model permissions, never more.
        return User(user.id, user.username, user.is_superuser, True, user.permissions)


def _authorization(headers) -> tuple[str, str]:
    """(scheme in lower case, credentials) of the Authorization header; ("", "") when there is none."""
    try:
        header = headers.get("Authorization", "") or ""
    except UnicodeError:  # Bottle decodes header bytes as UTF-8; other bytes are no credentials
        header = ""
    if not header.isascii():  # no scheme's credentials hold other characters
        header = ""
    scheme, _, credentials = header.partition(" ")
    return scheme.lower(), credentials


def _basic_pair(credentials: str) -> Optional[tuple[str, str]]:
    """(username, password) of HTTP Basic credentials; None when they are not base64 of ``name:password``."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _split_pair(text: str) -> tuple[str, str]:
    left, _, right = text.rpartition(":")
    return left, right
