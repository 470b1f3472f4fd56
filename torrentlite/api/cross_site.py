"""Requests a browser sends on another site's behalf: they never get ambient trust (loopback, session)."""
from __future__ import annotations

import socket
from typing import Iterable, Optional
from urllib.parse import urlsplit

import psutil

# Methods a cross-site page can send without asking first are GET, HEAD and POST; the others need a
# CORS preflight, which this server never grants. Bodies of these types are "simple" too.
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
SIMPLE_BODY_TYPES = ("", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
OWN_SITE = ("same-origin", "none")
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(value: str, scheme: str = "http") -> tuple[str, Optional[int]]:
    """("name", port) of a Host header value or URL netloc; the port is the scheme's when absent."""
    text = (value or "").strip().lower()
    if text.startswith("["):
        name, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        name, _, port_text = text.partition(":")
    else:
        name, port_text = text, ""
    try:
        port = int(port_text) if port_text else _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = -1
    return name.rstrip("."), port


def _origin(url: str) -> Optional[tuple[str, str, Optional[int]]]:
    """(scheme, name, port) of an Origin or Referer value; None when it names no web origin."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        return None
    name, port = split_host(parts.netloc.rpartition("@")[2], parts.scheme)
    return parts.scheme, name, port


class HostNames:
    """The names this server answers to: loopback, the configured ones, this machine's name and addresses."""

    def __init__(self, configured: Iterable[str] = ()):
        self.static = {n.strip().lower().strip("[]").rstrip(".") for n in (*LOCAL_NAMES, *configured) if n}
        for name in (socket.gethostname(), socket.getfqdn()):
            if name:
                self.static.add(name.lower())
        self.static.discard("")

    @classmethod
    def from_settings(cls, settings) -> "HostNames":
        names = list(settings.get("allowed_hosts") or ())
        host = settings.get("host") or ""
        if host not in ("0.0.0.0", "::"):
            names.append(host)
        if settings.get("web_root"):
            origin = _origin(settings["web_root"])
            if origin:
                names.append(origin[1])
        return cls(names)

    def allows(self, name: str) -> bool:
        name = name.strip("[]")
        if name in self.static:
            return True
        # Interface addresses change (DHCP, VPN); they are read only for a name not known already.
        try:
            interfaces = psutil.net_if_addrs()
        except OSError:
            return False
        return any(addr.address.split("%")[0].lower() == name for addrs in interfaces.values() for addr in addrs)


def foreign_reason(method: str, headers, hosts: HostNames) -> Optional[str]:
    """Why this request may come from a page of another site (so ambient trust must not apply); None if not.

    Only requests that carry no credentials of their own are judged: a browser adds loopback address
    and session cookie by itself, an API key it cannot know. The signs are the ones browsers send and
    pages cannot forge: `Host` (DNS rebinding), `Origin`/`Referer`, `Sec-Fetch-Site`, and for writes
    a body type that a cross-site form or `fetch` may send without a preflight.
    """
    host_header = headers.get("Host")
    own_port = None
    if host_header:
        name, own_port = split_host(host_header)
        if not hosts.allows(name):
            return f"the Host header names {name!r}, not this server (allowed_hosts lists extra names)"
    site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
    if site and site not in OWN_SITE:
        return f"the browser marked it Sec-Fetch-Site: {site}"
    origin_header = headers.get("Origin")
    source, label = (origin_header, "Origin") if origin_header else (headers.get("Referer"), "Referer")
    if source:
        origin = _origin(source)
        if origin is None:
            return f"its {label} names no web origin"
        if not hosts.allows(origin[1]) or (own_port is not None and origin[2] != own_port):
            # Only scheme, name and port: a Referer's path and query may hold secrets.
            return f"its {label} is {origin[0]}://{origin[1]}:{origin[2]}, another site"
    if method.upper() in UNSAFE_METHODS:
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        has_body = (headers.get("Content-Length") or "0").strip() not in ("", "0") or headers.get("Transfer-Encoding")
        if ctype in SIMPLE_BODY_TYPES and (ctype or has_body):
            return f"its body is {ctype or 'untyped'}, which any web page can send; send application/json"
    return None


__all__ = ["HostNames", "foreign_reason", "split_host", "UNSAFE_METHODS"]
