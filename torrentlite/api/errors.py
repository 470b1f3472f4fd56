"""The API's error responses: one exception type carrying status, body and headers."""
from __future__ import annotations

import html
from typing import Optional

CANNED_MESSAGE = "Sorry, this request could not be processed. Please try again later."


class ApiError(Exception):
    """An HTTP error answer. `body` None means an empty body (as the real server sends for 404/401)."""

    def __init__(self, status: int, body: Optional[object] = None, headers: Optional[dict] = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    """400 {"error": message}; tastypie HTML-escapes <, > and & in these messages."""
    return ApiError(400, {"error": html.escape(message, quote=False)})


def not_found() -> ApiError:
    return ApiError(404)


def canned(status: int) -> ApiError:
    return ApiError(status, {"error_message": CANNED_MESSAGE})


def method_not_allowed(allowed: tuple[str, ...]) -> ApiError:
    text = ",".join(m.upper() for m in allowed)
    return ApiError(405, text, {"Allow": text})


def unauthorized(challenge: bool = True) -> ApiError:
    return ApiError(401, None, {"WWW-Authenticate": 'Basic Realm="Torrent Suite"'} if challenge else {})
