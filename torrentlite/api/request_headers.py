"""Request headers that read bytes which are not UTF-8 as Latin-1 text instead of raising."""
from __future__ import annotations

from collections.abc import Mapping


class TolerantHeaders(Mapping):
    """Bottle decodes header values as UTF-8 and raises on anything else; a client's stray byte
    must end in a 4xx like any other bad value, so such a value is given as the raw Latin-1 text."""

    def __init__(self, headers, environ: dict):
        self._headers = headers
        self._environ = environ

    def _raw(self, name: str):
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return self._environ[key]

    def __getitem__(self, name: str):
        try:
            return self._headers[name]
        except UnicodeError:
            return self._raw(name)

    def __iter__(self):
        return iter(self._headers.keys())

    def __len__(self) -> int:
        return len(self._headers.keys())

    def __contains__(self, name) -> bool:
        return name in self._headers
