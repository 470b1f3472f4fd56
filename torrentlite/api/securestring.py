"""`/security/api/v1/securestring/`: named secrets stored encrypted with the data directory's key (Fernet)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from urllib.parse import parse_qs

import bottle
from cryptography.fernet import Fernet, InvalidToken

from torrentlite.api.body_limits import read_body
from torrentlite.api.errors import ApiError, bad_request, method_not_allowed, not_found, unauthorized
from torrentlite.api.http import METHODS, Response, to_bottle
from torrentlite.api.request_headers import TolerantHeaders
from torrentlite.store.identity import secret_key

PREFIX = "/security/api/v1/"
LIST = PREFIX + "securestring/"
TABLE = "torrentlite_securestring"
_LOOKUPS = {"exact": lambda v, x: v == x, "iexact": lambda v, x: v.lower() == x.lower(),
            "contains": lambda v, x: x in v, "icontains": lambda v, x: x.lower() in v.lower(),
            "startswith": lambda v, x: v.startswith(x), "istartswith": lambda v, x: v.lower().startswith(x.lower()),
            "endswith": lambda v, x: v.endswith(x), "iendswith": lambda v, x: v.lower().endswith(x.lower())}
_FIELDS = {"created": ("datetime", "When the secret was first stored."),
           "decrypted": ("string", "The secret, decrypted."),
           "id": ("integer", "The secret's id."), "name": ("string", "The secret's unique name."),
           "resource_uri": ("string", "This object's URI.")}


class SecureStrings:
    """The secrets table (created on first use) and the cipher keyed by this data directory's secret."""

    def __init__(self, store, data_path):
        self.store = store
        self.data_path = data_path
        self._fernet = None
        self._ready = False

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(secret_key(self.data_path))
        return self._fernet

    def _ensure(self) -> None:
        if not self._ready:
            with self.store.write():
                self.store.db.execute_sql(
                    f'CREATE TABLE IF NOT EXISTS "{TABLE}" (id INTEGER PRIMARY KEY AUTOINCREMENT, '
                    'name TEXT NOT NULL UNIQUE, encrypted_string TEXT NOT NULL, created TEXT NOT NULL)')
            self._ready = True

    def _object(self, row) -> dict:
        pk, name, token, created = row
        try:
            decrypted = self.fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            decrypted = ""  # encrypted with another data directory's key (e.g. a copied database)
        return {"created": created, "decrypted": decrypted, "id": pk, "name": name,
                "resource_uri": f"{LIST}{pk}/"}

    def rows(self) -> list:
        self._ensure()
        return self.store.db.execute_sql(
            f'SELECT id, name, encrypted_string, created FROM "{TABLE}" ORDER BY id').fetchall()

    def get(self, pk: int) -> dict:
        self._ensure()
        row = self.store.db.execute_sql(
            f'SELECT id, name, encrypted_string, created FROM "{TABLE}" WHERE id = ?', (pk,)).fetchone()
        if row is None:
            raise not_found()
        return self._object(row)

    def put(self, name: str, secret: str) -> int:
        """Store ``secret`` under ``name`` (replacing the secret of an existing name); return its id."""
        self._ensure()
        token = self.fernet.encrypt(secret.encode("utf-8")).decode("ascii")
        now = datetime.now(timezone.utc).isoformat()
        with self.store.write():
            self.store.db.execute_sql(
                f'INSERT INTO "{TABLE}" (name, encrypted_string, created) VALUES (?, ?, ?) '
                'ON CONFLICT(name) DO UPDATE SET encrypted_string = excluded.encrypted_string', (name, token, now))
            return self.store.db.execute_sql(f'SELECT id FROM "{TABLE}" WHERE name = ?', (name,)).fetchone()[0]

    def delete(self, pk: int) -> bool:
        self._ensure()
        with self.store.write():
            return bool(self.store.db.rows_affected(
                self.store.db.execute_sql(f'DELETE FROM "{TABLE}" WHERE id = ?', (pk,))))


def _one(params: dict, key: str, default=None):
    values = params.get(key)
    return values[-1] if values else default


def _page(objects: list, params: dict) -> dict:
    try:
        limit = int(_one(params, "limit", 20))
        offset = int(_one(params, "offset", 0))
    except ValueError:
        raise bad_request("limit and offset must be integers") from None
    if limit < 0 or offset < 0:
        raise bad_request("limit and offset must not be negative")
    limit = min(limit or 1000, 1000)
    total = len(objects)

    def link(start):
        rest = {k: v for k, v in params.items() if k not in ("limit", "offset")}
        query = "&".join(f"{k}={x}" for k, vs in rest.items() for x in vs)
        return f"{LIST}?{query + '&' if query else ''}limit={limit}&offset={start}"
    meta = {"limit": limit, "offset": offset, "total_count": total,
            "next": link(offset + limit) if offset + limit < total else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None}
    return {"meta": meta, "objects": objects[offset:offset + limit]}


def _filter(objects: list, params: dict) -> list:
    for key, values in params.items():
        field, _, lookup = key.partition("__")
        if field != "name":
            continue
        test = _LOOKUPS.get(lookup or "exact")
        if lookup == "in":
            wanted = set(",".join(values).split(","))
            objects = [o for o in objects if o["name"] in wanted]
        elif test is None:
            raise bad_request(f"Lookup '{lookup}' is not allowed on field 'name'.")
        else:
            objects = [o for o in objects if test(o["name"], values[-1])]
    return objects


def _secret_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise bad_request("Expected a JSON object.")
    secret = body.get("unencrypted")
    if not isinstance(secret, str) or secret == "":
        raise bad_request("A secure string needs a non-empty 'unencrypted' string.")
    return body


def mount(app: bottle.Bottle, api) -> SecureStrings:
    """Route ``/security/api/v1/…`` of ``app``, authenticating as the rundb API does."""
    secrets = SecureStrings(api.store, api.settings.data_path)

    def handle(path: str, method: str, params: dict, headers, raw: bytes) -> Response:
        if path == "":
            return Response(200, {"securestring": {"list_endpoint": LIST, "schema": LIST + "schema/"}})
        match = re.fullmatch(r"securestring/(?:(?P<pk>\d+)/|(?P<schema>schema/))?", path)
        if match is None:
            raise ApiError(404, {"error_message": f"No resource at {PREFIX}{path}"})
        detail = match.group("pk")
        allowed = ("get",) if match.group("schema") else \
            ("get", "put", "patch", "delete") if detail else ("get", "post")
        if method == "OPTIONS":
            text = ",".join(m.upper() for m in allowed)
            return Response(200, text, {"Allow": text})
        if method.lower() not in allowed:
            raise method_not_allowed(allowed)
        user = api.auth.authenticate(headers, params, bottle.request.remote_addr, method)
        if user is None:
            raise unauthorized()
        if match.group("schema"):
            fields = {k: {"blank": False, "default": "", "help_text": h, "nullable": False,
                          "readonly": k != "name", "type": t, "unique": k in ("id", "name")}
                      for k, (t, h) in _FIELDS.items()}
            return Response(200, {"allowed_detail_http_methods": ["get", "put", "patch", "delete"],
                                  "allowed_list_http_methods": ["get", "post"], "default_format": "application/json",
                                  "default_limit": 20, "fields": fields, "filtering": {"name": 1}, "ordering": []})
        if method == "GET":
            if detail:
                return Response(200, secrets.get(int(detail)))
            return Response(200, _page(_filter([secrets._object(r) for r in secrets.rows()], params), params))
        action = {"POST": "add", "DELETE": "delete"}.get(method, "change")
        if not user.can(action, "securestring"):
            raise unauthorized(challenge=False)
        if method == "DELETE":
            if not secrets.delete(int(detail)):
                raise not_found()
            return Response(204)
        body = _secret_body(raw)
        if method == "POST":
            name = body.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > 128:
                raise bad_request("A secure string needs a 'name' of 1 to 128 characters.")
            pk = secrets.put(name, body["unencrypted"])
            return Response(201, None, {"Location": f"{LIST}{pk}/"})
        current = secrets.get(int(detail))
        secrets.put(current["name"], body["unencrypted"])
        return Response(204)

    def serve(path=""):
        request = bottle.request
        params = parse_qs(request.query_string, keep_blank_values=True)
        headers = TolerantHeaders(request.headers, request.environ)
        try:
            raw = read_body(request.environ, api.settings,
                            lambda: api.auth.authenticate(headers, params, request.remote_addr, request.method))
            response = handle(path, request.method, params, headers, raw)
        except ApiError as exc:
            response = Response(exc.status, exc.body, exc.headers)
        return to_bottle(response, params, request.method)

    app.route(PREFIX, METHODS, serve)
    app.route(PREFIX + "<path:path>", METHODS, serve)
    return secrets


__all__ = ["mount", "SecureStrings", "PREFIX"]
