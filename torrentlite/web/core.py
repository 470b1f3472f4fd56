"""What every page needs: templates, the signed-in user, CSRF checks, and writes through the API."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import quote, urlencode

import bottle

from torrentlite import __version__
from torrentlite.api.auth import LOOPBACK
from torrentlite.api.errors import ApiError
from torrentlite.api.http import Api
from torrentlite.store.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, LIFETIME, Session, cookie_token, csrf_ok
from torrentlite.store.users import User

HERE = Path(__file__).resolve().parent
TEMPLATES = [str(HERE / "templates") + "/"]
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
        "X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff"}


@dataclass
class Visitor:
    """The signed-in user of a page request and their session."""

    user: User
    session: Session
    token: str


def render(name: str, status: int = 200, **context) -> bottle.HTTPResponse:
    context.setdefault("visitor", None)
    context.setdefault("notice", bottle.request.query.getunicode("notice") or "")
    context.setdefault("error", bottle.request.query.getunicode("error") or "")
    context.setdefault("version", __version__)
    context.setdefault("path", bottle.request.path)
    text = bottle.template(name, template_lookup=TEMPLATES, **context)
    return bottle.HTTPResponse(text.encode("utf-8"), status, dict(HTML))


def redirect(location: str, notice: str = "", error: str = "") -> bottle.HTTPResponse:
    query = urlencode({k: v for k, v in (("notice", notice), ("error", error)) if v})
    if query:
        location, hash_mark, fragment = location.partition("#")
        location += ("&" if "?" in location else "?") + query + hash_mark + fragment
    return bottle.HTTPResponse(b"", 303, {"Location": location})


def set_session_cookie(response: bottle.HTTPResponse, token: str) -> None:
    response.set_cookie(COOKIE, token, path="/", httponly=True, samesite="lax", max_age=int(LIFETIME))


class Pages:
    """Shared state of the page routes: the API they read and write through."""

    def __init__(self, api: Api, scheduler=None):
        self.api = api
        self.scheduler = scheduler
        self.auth = api.auth
        self.sessions = api.auth.sessions

    # -- who is asking -----------------------------------------------------------------------------------
    def visitor(self) -> Optional[Visitor]:
        request = bottle.request
        token = cookie_token(request.headers)
        session = self.sessions.get(token)
        if session is not None:
            user = self.auth.users.load(session.user_id)
            if user is not None and user.is_active:
                return Visitor(user, session, token)
        return None

    def loopback_visitor(self) -> Optional[Visitor]:
        """A browser on this machine is signed in as ionadmin when loopback is trusted, as API clients are."""
        request = bottle.request
        if not (self.auth.trust_loopback and request.remote_addr in LOOPBACK):
            return None
        if self.auth.loopback_refusal("GET", request.headers, request.remote_addr) is not None:
            return None
        user = self.auth.users.by_name("ionadmin")
        if user is None or not user.is_active:
            return None
        token, session = self.sessions.create(user.id)
        return Visitor(user, session, token)

    def require(self, handler):
        """Wrap a page handler: anonymous visitors go to sign-in; unsafe methods need the CSRF field."""
        def wrapped(*args, **kwargs):
            request = bottle.request
            visitor = self.visitor()
            fresh = None
            if visitor is None:
                visitor = fresh = self.loopback_visitor()
            if visitor is None:
                if request.method != "GET" or request.headers.get("HX-Request"):
                    return bottle.HTTPResponse(b"Sign in first.", 401, {"Content-Type": "text/plain",
                                                                        "HX-Redirect": "/login"})
                return redirect("/login?next=" + quote(request.fullpath + (
                    "?" + request.query_string if request.query_string else ""), safe="/"))
            # Forms post urlencoded bodies by design; the per-session token, and the same Host, Origin and
            # Sec-Fetch-Site checks loopback trust gets, show the post comes from these pages.
            if request.method not in ("GET", "HEAD") and (
                    self.auth.foreign("GET", request.headers) is not None
                    or not csrf_ok(visitor.session, self.offered_csrf())):
                return render("message.tpl", 403, visitor=visitor, title="Form expired",
                              message="The form's security token is missing or out of date. "
                                      "Go back, reload the page and try again.")
            response = handler(visitor, *args, **kwargs)
            if fresh is not None and isinstance(response, bottle.HTTPResponse):
                set_session_cookie(response, fresh.token)
            return response
        return wrapped

    @staticmethod
    def offered_csrf() -> str:
        request = bottle.request
        offered = request.headers.get(CSRF_HEADER)
        if offered:
            return offered
        try:
            return request.forms.getunicode(CSRF_FIELD) or ""
        except Exception:  # bottle raises assorted errors for malformed form bodies
            return ""

    # -- writes through the API --------------------------------------------------------------------------
    def api_call(self, visitor: Visitor, method: str, path: str, body=None, query: str = "",
                 headers: Optional[dict] = None, raw: Optional[bytes] = None):
        """Run an API request as the visitor (their session and CSRF token): (status, body)."""
        sent = {"Cookie": f"{COOKIE}={visitor.token}", CSRF_HEADER: visitor.session.csrf,
                "Content-Type": "application/json", **(headers or {})}
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        try:
            response = self.api.handle(method, path, query, sent, payload, bottle.request.remote_addr)
        except ApiError as exc:
            return exc.status, exc.body
        return response.status, response.body


def error_text(status: int, body) -> str:
    """A readable message from an API error answer."""
    if isinstance(body, dict):
        for key in ("error", "error_message", "detail"):
            if body.get(key):
                return f"{body[key]}"
        return "; ".join(f"{k}: {v}" for k, v in body.items()) or f"HTTP {status}"
    if isinstance(body, (bytes, str)) and body:
        return body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return {401: "You are not allowed to do this.", 404: "Not found."}.get(status, f"HTTP {status}")
