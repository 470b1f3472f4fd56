"""JSON text from a request: parsed like json.loads, but never a RecursionError or a lone surrogate."""
from __future__ import annotations

import json
import re

from torrentlite.store.fields import fits_int64

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json(text):
    """Parse `text` (str or UTF-8 bytes).

    :raises ValueError: invalid JSON, nesting too deep for the parser, or a \\u escape naming half
        of a surrogate pair (SQLite and every JSON encoder downstream would refuse the string).
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("JSON string holds half of a surrogate pair") from None
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
    return value


def small_int(text):
    """`text` as an int that SQLite can hold, or None."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if fits_int64(value) else None
