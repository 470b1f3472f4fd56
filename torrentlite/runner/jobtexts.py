"""A job's startplugin.json and launch script, rendered once for all jobs that differ only in their own values.

The jobs of one plugin on one report differ in three values: the plugin result's folder name, its id and
its API key. Rendering both files (the document pretty-printed, flattened into the environment, the
derived locations looked up on disk) cost more than the rest of starting a job together. So the files
are rendered once with marks in place of those values and kept as text pieces; a job whose other
inputs are the same gets its files by putting its own values between the pieces.

A kept rendering is used only when putting the first job's values between its pieces gave exactly
what rendering that job gave, and only for values that every step of the rendering leaves as they are
(plain names, digits, no shell or JSON quoting); anything else is rendered as before. The launch script
also holds what was found on disk (the reference FASTA, the processing folders), so a rendering is
kept for a second at most.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from .fsio import ensure_dir, real_path, write_atomic
from .launchscript import (STARTPLUGIN_NAME, json_default, launch_script_text, skipped_by_flatten,
                           startplugin_text, write_launch_script)

KEEP_SECONDS = 1.0
KEEP_MAX = 64

# Marks no real value contains: random, and checked against the real rendering before a rendering is kept.
_MARK_FOLDER = "tlmark" + secrets.token_hex(8)
_MARK_ID = 9 * 10 ** 17 + secrets.randbelow(10 ** 17)
_MARK_KEY = "tlmark" + secrets.token_hex(10)
_MARKS = re.compile("(" + "|".join(re.escape(str(m)) for m in (_MARK_FOLDER, _MARK_ID, _MARK_KEY)) + ")")
# What JSON printing and shell quoting both leave unchanged.
_PLAIN = re.compile(r"[A-Za-z0-9_.+-]+\Z")


@dataclass(frozen=True)
class JobValues:
    """The values of one job that differ from its neighbours'."""

    results_dir: str
    folder: str             # the component of results_dir that is the plugin result's folder
    pluginresult: int
    api_key: str

    def marked(self) -> "JobValues":
        return JobValues(self.place(self.results_dir, _MARK_FOLDER), _MARK_FOLDER, _MARK_ID, _MARK_KEY)

    def place(self, path: str, folder: str) -> str:
        """``path`` with its last component named as this job's folder renamed ``folder``."""
        parts = Path(path).parts
        if self.folder not in parts:
            return path
        at = len(parts) - 1 - parts[::-1].index(self.folder)
        return os.path.join(*parts[:at], folder, *parts[at + 1:])

    def keepable(self, resolved: str) -> bool:
        """Whether these values pass through every step of the rendering unchanged (``resolved``: the
        kernel's name for the results folder, which the launch script holds)."""
        texts = (self.folder, self.api_key)
        return (type(self.pluginresult) is int and self.pluginresult >= 0
                and all(_PLAIN.match(t) and not skipped_by_flatten(t) for t in texts)
                and self.folder in Path(self.results_dir).parts and resolved == self.results_dir)

    def by_mark(self) -> Dict[str, str]:
        return {_MARK_FOLDER: self.folder, str(_MARK_ID): str(self.pluginresult), _MARK_KEY: self.api_key}


@dataclass
class _Kept:
    pieces: Optional[Tuple[List[str], List[str]]]    # None: this rendering cannot be shared
    made: float


def _pieces(text: str) -> List[str]:
    """Text between marks at even places, marks at odd places."""
    return _MARKS.split(text)


def _fill(pieces: List[str], values: Dict[str, str]) -> str:
    return "".join(values[p] if i % 2 else p for i, p in enumerate(pieces))


class JobTexts:
    """Writes a job's startplugin.json and launch script, reusing a rendering kept for jobs like it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._kept: Dict[tuple, _Kept] = {}
        self._lock = threading.Lock()

    def write(self, values: JobValues, build: Callable[[JobValues], dict], script: dict) -> Path:
        """Write both files for ``values`` into its folder; ``build(values)`` gives the startplugin document,
        ``script`` the other arguments of :func:`launch_script_text`. Returns the script's path."""
        name, folder = script["plugin_name"], real_path(values.results_dir)
        if not values.keepable(folder):
            return self._write(folder, values, *self._render(values, build(values), script), name)
        marked = values.marked()
        doc = build(marked)
        key = (json.dumps(doc, default=json_default), marked.results_dir,
               tuple(sorted((k, repr(v)) for k, v in script.items())))
        now = self.clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is None or now - kept.made > KEEP_SECONDS:
            return self._first(key, folder, values, marked, doc, build, script, now)
        if kept.pieces is None:
            return self._write(folder, values, *self._render(values, build(values), script), name)
        fill = values.by_mark()
        return self._write(folder, values, _fill(kept.pieces[0], fill), _fill(kept.pieces[1], fill), name)

    def _first(self, key, folder, values, marked, marked_doc, build, script, now) -> Path:
        """Render the marked job and the real one; keep the marked rendering if it gives the real one."""
        texts = self._render(values, build(values), script)
        pieces = tuple(_pieces(text) for text in self._render(marked, marked_doc, script))
        fill = values.by_mark()
        same = all(_fill(p, fill) == t for p, t in zip(pieces, texts))
        with self._lock:
            if len(self._kept) >= KEEP_MAX:
                self._kept.clear()
            self._kept[key] = _Kept(pieces if same else None, now)
        return self._write(folder, values, *texts, script["plugin_name"])

    @staticmethod
    def _render(values: JobValues, doc: dict, script: dict) -> Tuple[str, str]:
        """(startplugin.json, launch script) rendered in full."""
        return startplugin_text(doc), launch_script_text(results_dir=Path(values.results_dir), startplugin=doc,
                                                         **script)

    @staticmethod
    def _write(folder: str, values: JobValues, startplugin: str, launch: str, plugin_name: str) -> Path:
        ensure_dir(folder)
        write_atomic(Path(values.results_dir) / STARTPLUGIN_NAME, startplugin.encode("utf-8"))
        return write_launch_script(folder, plugin_name, launch)


__all__ = ["JobTexts", "JobValues", "KEEP_SECONDS"]
