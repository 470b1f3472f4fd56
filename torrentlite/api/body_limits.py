"""Request bodies: refused with 413 on Content-Length or while streaming, read only for known callers."""
from __future__ import annotations

from torrentlite.api.errors import ApiError, unauthorized

MIB = 1024 * 1024
CHUNK = 64 * 1024
# Bodies above this size are read only once the caller has shown valid credentials, so an anonymous
# client cannot make the server read (and hold) megabytes just to answer 401.
ANONYMOUS_BODY_LIMIT = 64 * 1024
UPLOAD_TYPES = ("multipart/form-data", "application/zip", "application/x-zip-compressed",
                "application/octet-stream")


def too_large(limit: int) -> ApiError:
    return ApiError(413, {"error": f"The request body is larger than this server accepts "
                                   f"({limit // MIB} MiB for this kind of request)."})


def body_limit(settings, content_type: str) -> int:
    """Uploads (plugin archives) may be as large as max_upload_mb; JSON and forms max_json_body_mb."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in UPLOAD_TYPES:
        return int(settings.max_upload_mb * MIB)
    return int(min(settings.max_json_body_mb, settings.max_upload_mb) * MIB)


def read_body(environ: dict, settings, authenticated) -> bytes:
    """The request body, or ApiError 413 (too large) / 401 (large and anonymous) without reading it all.

    `authenticated()` is called only for bodies above ANONYMOUS_BODY_LIMIT.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, {"error": "The Content-Length header is not a number."})
    chunked = "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower()
    if length <= 0 and not chunked:
        return b""
    limit = body_limit(settings, environ.get("CONTENT_TYPE", ""))
    if length > limit:
        raise too_large(limit)
    if (length > ANONYMOUS_BODY_LIMIT or chunked) and not authenticated():
        raise unauthorized()
    stream = environ["wsgi.input"]
    parts, total = [], 0
    want = length if length > 0 else None
    while want is None or total < want:
        chunk = stream.read(CHUNK if want is None else min(CHUNK, want - total))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        parts.append(chunk)
    return b"".join(parts)
