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
    """``json.dumps(doc, indent=2, default=default)``, with each top-level item's text remembered."""
    if not isinstance(doc, dict) or not doc or not all(isinstance(k, str) for k in doc):
        return json.dumps(doc, indent=2, default=default)
    # An item's text is what dumping a one-item dict gives, without the braces and their line breaks.
    items = [_MEMO.get(f"indent:{id(default)}", key, value,
                       lambda key=key, value=value: json.dumps({key: value}, indent=2, default=default)[2:-2],
                       default)
             for key, value in doc.items()]
    return "{\n" + ",\n".join(items) + "\n}"


__all__ = ["PartMemo", "indented_json", "remembered"]
