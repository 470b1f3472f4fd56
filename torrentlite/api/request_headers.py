"""Request headers that read bytes which are not UTF-8 as Latin-1 text instead of raising."""
from __future__ import annotations

from collections.abc import Mapping


class TolerantHeaders(Mapping):
    """Bottle decodes header values as UTF-8 and raises on anything else; a client's stray byte
    must end in a 4xx like any other bad value, so such a value is given as the raw Latin-1 text."""

    def __init__(self, headers, environ: dict):
        self._headers = headers
        self._environ = environ

    @staticmethod
    def _key(name: str) -> str:
        key = name.upper().replace("-", "_")
        return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key

    def __getitem__(self, name: str):
        try:
            return self._headers[name]
        except UnicodeError:
            return self._environ[self._key(name)]

    def get(self, name: str, default=None):
        # Most headers asked for are absent: say so without raising and catching a KeyError.
        if self._key(name) not in self._environ:
            return default
        return self[name]

    def __iter__(self):
        return iter(self._headers.keys())

    def __len__(self) -> int:
        return len(self._headers.keys())

    def __contains__(self, name) -> bool:
        return name in self._headers
