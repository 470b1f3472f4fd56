"""Remembered renderings of the parts of a JSON document that stay the same from one plugin job to the next."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Callable


class PartMemo:
    """What is derived from one part of startplugin.json (a section or an item of one), by its JSON text.

    Jobs of one report share most of the document (a few run info items aside); walking and
    pretty-printing it again for every job was most of the cost of starting a short job. The compact
    text (C encoder) is the key, so a changed part is derived afresh; the least recently used go first.
    """

    def __init__(self, size: int = 1024):
        self.size = size
        self._items: "OrderedDict[tuple, object]" = OrderedDict()
        self._lock = threading.Lock()
        self._encoders: dict = {}

    def get(self, kind: str, key: str, value, make, default: Callable):
        encoder = self._encoders.get(default)
        if encoder is None:
            encoder = self._encoders[default] = json.JSONEncoder(default=default)
        try:
            text = encoder.encode(value)
        except (TypeError, ValueError):
            return make()
        ident = (kind, key, text)
        with self._lock:
            if ident in self._items:
                self._items.move_to_end(ident)
                return self._items[ident]
        made = make()
        with self._lock:
            self._items[ident] = made
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return made


_MEMO = PartMemo()


def remembered(table: dict, key, make: Callable, limit: int = 20000):
    """``make()`` for a hashable ``key``, kept in ``table`` (emptied whenever it grows past ``limit``)."""
    try:
        return table[key]
    except KeyError:
        pass
    if len(table) >= limit:
        table.clear()
    value = table[key] = make()
    return value


def indented_json(doc, default) -> str:
    """``json.dumps(doc, indent=2, default=default)``, with the text of each item remembered.

    The items of the top-level sections are remembered one by one: a section such as runinfo holds a
    few values of its own job among many that are the same for every job.
    """
    if not _plain_dict(doc):
        return json.dumps(doc, indent=2, default=default)
    return "{\n" + ",\n".join(_item(key, value, default, 1) for key, value in doc.items()) + "\n}"


def _plain_dict(value) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(k, str) for k in value)


_SCALARS = (str, int, float, bool, type(None))


def _item(key: str, value, default, depth: int) -> str:
    """The text of ``"key": value`` inside a dict nested ``depth`` deep, as ``json.dumps(indent=2)`` prints it."""
    kind = f"indent:{id(default)}"
    if depth == 1 and _plain_dict(value):
        # Most sections are the same from job to job (one look-up); one that is not is put together
        # from its items.
        return _MEMO.get(kind + ":section", key, value, lambda: "  {}: {{\n{}\n  }}".format(
            json.dumps(key), ",\n".join(_item(k, v, default, 2) for k, v in value.items())), default)
    if depth > 1 and type(value) in _SCALARS:
        return "  " * depth + json.dumps(key) + ": " + json.dumps(value)   # dearer to look up than to print
    # What dumping a one-item dict gives, without the braces and their line breaks, one level deeper per
    # depth (a JSON text has no line break inside a value, so every line moves by the same two spaces).
    text = _MEMO.get(kind, key, value, lambda: json.dumps({key: value}, indent=2, default=default)[2:-2], default)
    return text if depth == 1 else "  " * (depth - 1) + text.replace("\n", "\n" + "  " * (depth - 1))


__all__ = ["PartMemo", "indented_json", "remembered"]
