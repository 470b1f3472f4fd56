"""The rundb URL space on Bottle: dispatch, authentication, method rules, formats and errors."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Callable, Optional
from urllib.parse import parse_qs

import bottle
import orjson

from torrentlite.api.auth import Authenticator
from torrentlite.api.body_limits import read_body
from torrentlite.api.cross_site import HostNames
from torrentlite.api.errors import (CANNED_MESSAGE, ApiError, bad_request, canned, method_not_allowed, not_found,
                                    unauthorized)
from torrentlite.api.json_text import parse_json, small_int
from torrentlite.api.page_cache import PageCache
from torrentlite.api.represent import API_PREFIX, MESH_PREFIX, list_uri, to_mesh_links
from torrentlite.api.request_headers import TolerantHeaders
from torrentlite.api.resource import ReadHandler, schema_document
from torrentlite.store.db import Store
from torrentlite.store.sessions import SAFE_METHODS
from torrentlite.store.time_limit import QueryTimeout

log = logging.getLogger("torrentlite.api")

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
_CALLBACK = re.compile(r"^[\w.$]+$")


@dataclass
class Response:
    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)


@dataclass
class Call:
    """What an endpoint gets: the parsed request and the caller."""

    method: str
    path: str
    params: dict
    headers: object
    body: bytes
    user: object
    remote_addr: Optional[str]
    match: dict = field(default_factory=dict)
    query: str = ""
    mark: Optional[int] = None  # the database's change mark, read when the caller was authenticated

    def json(self):
        """The request body as JSON (empty body → {}); invalid JSON → 400 {"error": ""} like tastypie."""
        if not self.body:
            return {}
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if ctype not in ("application/json", "text/json", "", "text/plain"):
            raise ApiError(415, {"error": f"Unsupported Content-Type '{ctype}': send application/json."})
        try:
            return parse_json(self.body)
        except ValueError:
            raise bad_request("")


@dataclass
class Endpoint:
    """A custom URL below a resource (tastypie's prepend_urls), tried before the standard ones."""

    resource: str
    pattern: re.Pattern
    methods: tuple[str, ...]
    handler: Callable[[Call], Response]
    auth: bool = True
    check_methods: bool = True


class Api:
    """The /rundb/api/v1/ namespace: standard resource views plus registered custom endpoints."""

    def __init__(self, store: Store, settings):
        self.store = store
        self.settings = settings
        self.registry = store.registry
        self.read = ReadHandler(store, settings)
        self.pages = PageCache(store.db)
        self.auth = Authenticator(store, settings.trust_loopback, HostNames.from_settings(settings))
        self.writes = None
        self.endpoints: list[Endpoint] = []
        self.extra_names: dict[str, bool] = {}
        # Called with a results pk after a write made that report "Completed".
        self.result_completed: list[Callable[[int], object]] = []

    def endpoint(self, resource: str, pattern: str, methods=("GET",), *, auth=True, check_methods=True):
        """Register `handler(call)` for `<resource>/<pattern>` (a regex of the rest, ending in /)."""
        def register(handler):
            self.endpoints.append(Endpoint(resource, re.compile(f"^{pattern}$"), tuple(methods), handler, auth,
                                           check_methods))
            self.pages.clear()  # a kept page's path may now be this endpoint's (see `reuse`)
            return handler
        return register

    def add_name(self, name: str, has_schema: bool = True):
        """An undocumented resource name that the index lists (account, getsoftwareinfo…)."""
        self.extra_names[name] = has_schema

    # -- entry point -------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers, body: bytes, remote_addr,
               params: Optional[dict] = None) -> Response:
        """Answer one request; every SQL statement it runs is bounded by the query_time_limit setting.

        `params` is `query` parsed, when the caller has it already."""
        limit = self.settings.get("query_time_limit")
        try:
            with self.store.time_limit(limit):
                return self._handle(method, path, query, headers, body, remote_addr, params)
        except QueryTimeout as exc:
            log.warning("%s %s: interrupted, %s", method, API_PREFIX + path, exc)
            raise bad_request(f"The query took longer than {exc.seconds:g} s and was stopped (setting "
                              f"query_time_limit). Narrow the filters, or simplify the regular expression.")

    def reuse(self, path: str, query: str, params: dict, headers, environ: dict) -> Optional[Response]:
        """The answer to a GET of `path` that `handle` would give, when it is a page kept for this very
        request (same path, query and caller, database unchanged); None when `handle` must answer.

        Only `_standard` keeps pages, so a kept page's path is routed to it (registering an endpoint
        drops every page), and the caller must be known from memory alone (`Authenticator.remembered`).
        A request that could be anything but that plain read (another method, an override header,
        a body) is left to `handle`.
        """
        if (not path.endswith("/") or environ.get("HTTP_X_HTTP_METHOD_OVERRIDE") is not None
                or environ.get("CONTENT_LENGTH", "0") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ):
            return None
        resource, _, rest = path[:-1].partition("/")
        try:
            mark = self.pages.mark.current()
        except Exception:  # whatever went wrong, `handle` meets it again and answers it
            return None
        user = self.auth.remembered(headers, params, mark)
        page = self.pages.kept(resource, rest, query, user, mark) if user is not None else None
        return Response(200, page[0], {"Content-Type": page[1]}) if page is not None else None

    def _handle(self, method: str, path: str, query: str, headers, body: bytes, remote_addr, params) -> Response:
        if params is None:
            params = parse_qs(query, keep_blank_values=True)
        override = headers.get("X-HTTP-Method-Override")
        if override:
            method = override.upper()
        if method == "PROPPATCH":
            method = "PATCH"
        call = Call(method, path, params, headers, body, None, remote_addr, query=query)
        if path == "":
            return Response(200, self.index())
        if not path.endswith("/"):
            target = API_PREFIX + path + "/" + (f"?{query}" if query else "")
            return Response(301, None, {"Location": target})
        parts = path[:-1].split("/")
        name, rest = parts[0], "/".join(parts[1:])
        for ep in self.endpoints:
            if ep.resource != name:
                continue
            match = ep.pattern.match(rest + "/" if rest else "")
            if match is None:
                continue
            call.match = match.groupdict()
            if ep.check_methods:
                self._check_method(method, ep.methods)
            if ep.auth:
                self._authenticate(call)
            if any(v and v.isdigit() and small_int(v) is None for v in call.match.values()):
                raise not_found()  # no row has a key SQLite cannot even hold
            return ep.handler(call)
        resource = self.registry.get(name)
        if resource is None or resource.table is None:
            raise ApiError(404, {"error_message": f"No resource named '{name}' at {API_PREFIX}{name}/."})
        return self._standard(resource, call, rest)

    def _standard(self, resource, call: Call, rest: str) -> Response:
        segments = rest.split("/") if rest else []
        if segments == ["schema"]:
            self._check_method(call.method, ("get",))
            self._authenticate(call)
            return Response(200, schema_document(resource))
        if len(segments) == 2 and segments[0] == "set":
            self._check_method(call.method, ("get",))
            self._authenticate(call)
            return Response(200, self.read.multiple(resource, segments[1], call.params, user=call.user))
        detail = bool(segments)
        allowed = resource.detail_methods if detail else resource.list_methods
        self._check_method(call.method, allowed)
        self._authenticate(call)
        if call.method == "GET":
            def build() -> tuple[bytes, str]:
                if detail:
                    body = self.read.detail(resource, rest, call.params, user=call.user)
                else:
                    body = self.read.list(resource, call.params, path=list_uri(resource.name), user=call.user)
                return encode(body, call.params)

            payload, ctype = self.pages.page(resource.name, rest, call.query, call.user, build, call.mark)
            return Response(200, payload, {"Content-Type": ctype})
        if self.writes is None:
            raise ApiError(501)
        return self.writes.dispatch(resource, call, rest if detail else None)

    def _check_method(self, method: str, allowed) -> None:
        allowed = tuple(m.lower() for m in allowed)
        if method == "OPTIONS":
            text = ",".join(m.upper() for m in allowed)
            raise ApiError(200, text, {"Allow": text})
        if method.lower() not in allowed:
            raise method_not_allowed(allowed)

    def _authenticate(self, call: Call) -> None:
        # A read looks at the change mark anyway (for a kept page), and with it a key verified at the same
        # mark needs no lookup; a write moves the mark, so there it would only add a statement.
        if call.method in SAFE_METHODS:
            call.mark = self.pages.mark.current()
        call.user = self.auth.authenticate(call.headers, call.params, call.remote_addr, call.method, call.mark)
        if call.user is None:
            reason = self.auth.loopback_refusal(call.method, call.headers, call.remote_addr)
            if reason:
                # No challenge: it would make the browser ask its user for a password on another site's behalf.
                raise ApiError(401, {"error": f"Loopback clients are trusted only for requests no other web "
                                              f"site can make; this one is refused because {reason}. Send "
                                              f"an API key (torrentlite user key ionadmin)."})
            raise unauthorized()

    def index(self) -> dict:
        names = [n for n, r in self.registry.resources.items() if r.table is not None or n in self.extra_names]
        names += [n for n in self.extra_names if n not in self.registry.resources]
        names += [n for n in ("network", "torrentsuite") if n not in names and self.registry.get(n)]
        return {n: {"list_endpoint": list_uri(n), "schema": f"{list_uri(n)}schema/"} for n in sorted(set(names))}


def dump_json(body) -> bytes:
    """UTF-8 JSON with keys sorted at every level, as the real server writes it.

    orjson does this several times faster than the standard library (a large share of a list
    request); values it refuses (integers beyond 64 bits) fall back to the standard encoder.
    """
    try:
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(body, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def encode(body, params: dict) -> tuple[bytes, str]:
    """JSON or JSONP when asked with format=jsonp / callback=."""
    payload = dump_json(body)
    fmt = (params.get("format") or [""])[-1]
    callback = (params.get("callback") or [None])[-1]
    if fmt == "jsonp" or (callback and fmt != "json"):
        callback = callback or "callback"
        if not _CALLBACK.match(callback):
            return dump_json({"error": "JSONP callback name is invalid."}), "application/json"
        return callback.encode() + b"(" + payload + b")", "text/javascript"
    return payload, "application/json"


def to_bottle(response: Response, params: dict, method: str) -> bottle.HTTPResponse:
    headers = dict(response.headers)
    body = response.body
    if body is None:
        payload = b""
    elif isinstance(body, (bytes, bytearray)):
        payload = bytes(body)
    elif isinstance(body, str):
        payload = body.encode("utf-8")
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
    else:
        payload, ctype = encode(body, params)
        headers.setdefault("Content-Type", ctype)
    headers.setdefault("Vary", "Accept")
    if method == "GET" and response.status == 200:
        headers.setdefault("Cache-Control", "no-cache")
    return bottle.HTTPResponse(payload, response.status, headers)


def mount(app: bottle.Bottle, api: Api) -> None:
    """Route /rundb/api/v1/... of `app` to `api`."""
    prefix = API_PREFIX.rstrip("/")

    def respond(path: str, params: dict) -> Response:
        request = bottle.request
        try:
            headers = TolerantHeaders(request.headers, request.environ)
            body = read_body(request.environ, api.settings,
                             lambda: api.auth.authenticate(headers, params, request.remote_addr, request.method))
            return api.handle(request.method, path, request.query_string, headers, body, request.remote_addr,
                              params)
        except ApiError as exc:
            return Response(exc.status, exc.body, exc.headers)
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, request.fullpath)
            return Response(500, {"error_message": CANNED_MESSAGE})

    def serve(path=""):
        request = bottle.request
        query = request.query_string
        params = parse_qs(query, keep_blank_values=True)
        response = None
        if request.method == "GET":
            response = api.reuse(path, query, params, TolerantHeaders(request.headers, request.environ),
                                 request.environ)
        return to_bottle(response or respond(path, params), params, request.method)

    def serve_mesh(path=""):
        # This box is a mesh of one: the mesh list of compositeexperiment is the local one.
        if path and not path.startswith("compositeexperiment/"):
            return to_bottle(Response(404, {"error_message": f"No mesh resource at {MESH_PREFIX}{path}"}), {}, "GET")
        if not path:
            return to_bottle(Response(200, {"compositeexperiment": {
                "list_endpoint": f"{MESH_PREFIX}compositeexperiment/",
                "schema": f"{MESH_PREFIX}compositeexperiment/schema/"}}), {}, "GET")
        params = parse_qs(bottle.request.query_string, keep_blank_values=True)
        response = respond(path, params)
        response.body = to_mesh_links(response.body)
        if "Location" in response.headers:
            response.headers["Location"] = to_mesh_links(response.headers["Location"])
        return to_bottle(response, params, bottle.request.method)

    app.route(prefix, METHODS, lambda: bottle.HTTPResponse(b"", 301, {"Location": API_PREFIX}))
    app.route(API_PREFIX, METHODS, serve)
    app.route(API_PREFIX + "<path:path>", METHODS, serve)
    app.route(MESH_PREFIX, ["GET"], serve_mesh)
    app.route(MESH_PREFIX + "<path:path>", METHODS, serve_mesh)


__all__ = ["Api", "Call", "Response", "mount", "canned"]
