"""Sign in, sign out and the user page."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone

import bottle

from torrentlite.store.sessions import CSRF_FIELD
from torrentlite.web.core import Pages, redirect, render, set_session_cookie

# Before sign-in there is no session: the sign-in form's token is checked against a cookie (double submit).
LOGIN_COOKIE = "tlsignin"


def _safe_next(target: str) -> str:
    """Only a path on this server (never //host or a scheme) may follow sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/runs"
    return target


def register(wsgi: bottle.Bottle, pages: Pages) -> None:
    users = pages.auth.users

    def login_form(failed: str = "", username: str = "", status: int = 200, target: str = ""):
        request = bottle.request
        token = request.get_cookie(LOGIN_COOKIE) or ""
        if len(token) < 20 or len(token) > 100:
            token = secrets.token_urlsafe(24)
        response = render("login.tpl", status, failed=failed, username=username, csrf=token,
                          next=_safe_next(target or request.query.getunicode("next") or ""))
        response.set_cookie(LOGIN_COOKIE, token, path="/login", httponly=True, samesite="strict", max_age=3600)
        return response

    def login_page():
        if pages.visitor() is not None:
            return redirect(_safe_next(bottle.request.query.getunicode("next") or ""))
        return login_form()

    def login_submit():
        request = bottle.request
        forms = request.forms
        username = (forms.getunicode("username") or "").strip()
        password = forms.getunicode("password") or ""
        target = forms.getunicode("next") or ""
        expected = request.get_cookie(LOGIN_COOKIE) or ""
        offered = forms.getunicode(CSRF_FIELD) or ""
        if not expected or not hmac.compare_digest(expected, offered):
            return login_form("The sign-in form expired; please try again.", username, 403, target)
        user = users.password_ok(username, password) if username and password else None
        if user is None:
            return login_form("Wrong username or password, or the account is inactive.", username, 401, target)
        token, _ = pages.sessions.create(user.id)
        response = redirect(_safe_next(target))
        set_session_cookie(response, token)
        return response

    @pages.require
    def logout(visitor):
        pages.sessions.end(visitor.token)
        response = redirect("/login", notice="You are signed out.")
        response.delete_cookie("tlsession", path="/")
        return response

    @pages.require
    def user_page(visitor):
        expires = datetime.fromtimestamp(visitor.session.expires, timezone.utc).strftime("%Y-%m-%d %H:%M")
        request = bottle.request
        base_url = f"{request.urlparts.scheme}://{request.urlparts.netloc}"
        return render("user.tpl", visitor=visitor, api_key=users.api_key(visitor.user.username),
                      expires=expires, base_url=base_url)

    wsgi.route("/login", ["GET"], login_page)
    wsgi.route("/login", ["POST"], login_submit)
    wsgi.route("/logout", ["POST"], logout)
    wsgi.route("/user", ["GET"], user_page)
