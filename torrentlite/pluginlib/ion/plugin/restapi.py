"""Minimal REST client for plugins: GET a rundb resource with the plugin's key, retrying transient failures."""
import json
import logging
import socket
import time

try:  # Python 3
    from http.client import HTTPException
    from urllib.error import HTTPError, URLError
    from urllib.parse import urlencode
    from urllib.request import Request, urlopen
except ImportError:  # Python 2.7, for legacy plugins
    from httplib import HTTPException
    from urllib import urlencode
    from urllib2 import HTTPError, Request, URLError, urlopen

try:
    _TIMEOUTS = (socket.timeout, TimeoutError)
except NameError:  # Python 2.7 has only socket.timeout
    _TIMEOUTS = (socket.timeout,)

__all__ = ["resource_url", "get_json"]

log = logging.getLogger("ion.plugin.runtime")

# Seconds to wait before retry n (1-based) is min(RETRY_BASE * 2 ** (n - 1), RETRY_MAX).
RETRY_BASE = 0.2
RETRY_MAX = 5.0


def resource_url(api_url, resource):
    """Join `<api_url>/v1/<resource>/` with exactly one slash between the parts."""
    return "%s/v1/%s/" % (api_url.rstrip("/"), resource.strip("/"))


def _is_timeout(exc):
    if isinstance(exc, _TIMEOUTS):
        return True
    return isinstance(exc, URLError) and isinstance(exc.reason, _TIMEOUTS)


def _charset(response):
    headers = response.headers if hasattr(response, "headers") else response.info()
    if hasattr(headers, "get_content_charset"):
        return headers.get_content_charset() or "utf-8"
    return headers.getparam("charset") or "utf-8"


def get_json(url, params=None, timeout=30, attempts=5):
    """GET `url` with query `params`; return parsed JSON, the raw text if it is not JSON, or None on an HTTP error.

    Connection errors and timeouts are retried up to `attempts` times in all; each timeout adds 5 s to the
    next attempt's timeout. The last connection error is raised when every attempt failed.
    """
    query = urlencode(params or {}, doseq=True)
    full_url = url + ("&" if "?" in url else "?") + query if query else url
    request = Request(full_url, headers={"Accept": "application/json"})
    attempts = max(1, int(attempts))
    for attempt in range(1, attempts + 1):
        try:
            response = urlopen(request, timeout=timeout)
            try:
                body = response.read()
                charset = _charset(response)
            finally:
                response.close()
        except HTTPError as exc:
            log.error("GET %s failed: HTTP %s %s", url, exc.code, exc.reason)
            return None
        except (URLError, HTTPException, socket.error) + _TIMEOUTS as exc:
            if attempt == attempts:
                raise
            if _is_timeout(exc):
                timeout += 5
            log.warning("GET %s attempt %d/%d failed (%s); retrying", url, attempt, attempts, exc)
            time.sleep(min(RETRY_BASE * 2 ** (attempt - 1), RETRY_MAX))
            continue
        text = body.decode(charset, errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text
    return None
