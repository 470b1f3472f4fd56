"""Which interpreter a plugin's entry file needs, remembered per version of that file."""
from __future__ import annotations

import ast
import os
import threading
from pathlib import Path
from typing import Dict, Optional


def detect_language(plugin_dir: str, name: str) -> str:
    """python3, python2 (does not parse as Python 3) or bash (launch.sh only)."""
    source = Path(plugin_dir, f"{name}.py")
    if source.is_file():
        try:
            ast.parse(source.read_bytes())
        except SyntaxError:
            return "python2"
        except (OSError, ValueError):
            return "python3"
        return "python3"
    return "bash"


def _entry_key(plugin_dir: str, name: str) -> tuple:
    """The entry file's identity: an upgrade (new file, other size or time) gives another key."""
    for entry in (f"{name}.py", "launch.sh"):
        try:
            st = os.stat(os.path.join(plugin_dir, entry))
        except OSError:
            continue
        return plugin_dir, name, entry, st.st_ino, st.st_size, st.st_mtime_ns
    return plugin_dir, name, None


class LanguageCache:
    """detect_language() results keyed on the entry file, so an upgraded plugin is detected afresh."""

    def __init__(self):
        self._known: Dict[tuple, str] = {}
        self._lock = threading.Lock()

    def language(self, plugin_dir: str, name: str) -> str:
        key = _entry_key(plugin_dir, name)
        with self._lock:
            found: Optional[str] = self._known.get(key)
        if found is None:
            found = detect_language(plugin_dir, name)
            with self._lock:
                self._known[key] = found
        return found

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
