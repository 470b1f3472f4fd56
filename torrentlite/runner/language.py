"""Which interpreter a plugin needs, remembered per version of its entry file."""
from __future__ import annotations

import ast
import os
import threading
from pathlib import Path
from typing import Dict, Iterable, Optional, Tuple


_SCAN_LIMIT = 400                 # .py files looked at per plugin
_SIZE_LIMIT = 2 * 1024 * 1024     # bytes per file


def _python_files(plugin_dir: Path, name: str) -> Iterable[Path]:
    main = plugin_dir / f"{name}.py"
    if main.is_file():
        yield main
    count = 0
    for folder, dirs, files in os.walk(plugin_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for filename in sorted(files):
            path = Path(folder, filename)
            if filename.endswith(".py") and path != main and not path.is_symlink():
                count += 1
                if count > _SCAN_LIMIT:
                    return
                yield path


def python2_reason(plugin_dir, name: str) -> Optional[str]:
    """Why plugin ``name`` needs Python 2.7 (its first .py file that is not Python 3, with the line), or None.

    Torrent Suite runs a plugin and everything it spawns with Python 2.7; plugins whose main module parses
    as Python 3 often keep Python 2 helper scripts, so every .py file of the plugin folder counts.
    """
    plugin_dir = Path(plugin_dir)
    for path in _python_files(plugin_dir, name):
        try:
            if path.stat().st_size > _SIZE_LIMIT:
                continue
            ast.parse(path.read_bytes(), filename=path.name)
        except SyntaxError as exc:
            return f"{path.relative_to(plugin_dir)} line {exc.lineno} is not Python 3"
        except (OSError, ValueError):
            continue
    return None


def detect(plugin_dir: str, name: str) -> Tuple[str, Optional[str]]:
    """(python3, python2 or bash, why it needs Python 2.7 or None).

    A Python plugin with any Python 2 source (its module or a helper it spawns) is python2; a launch.sh
    plugin stays bash, with a reason when it has Python 2 helpers (it needs the legacy environment too).
    """
    reason = python2_reason(plugin_dir, name)
    if Path(plugin_dir, f"{name}.py").is_file():
        return ("python2" if reason else "python3"), reason
    return "bash", reason


def detect_language(plugin_dir: str, name: str) -> str:
    """python3, python2 (some of its Python is not Python 3) or bash (launch.sh only)."""
    return detect(plugin_dir, name)[0]


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
    """detect() results keyed on the entry file, so an upgraded plugin is detected afresh."""

    def __init__(self):
        self._known: Dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def _detect(self, plugin_dir: str, name: str) -> tuple:
        key = _entry_key(plugin_dir, name)
        with self._lock:
            found: Optional[tuple] = self._known.get(key)
        if found is None:
            found = detect(plugin_dir, name)
            with self._lock:
                self._known[key] = found
        return found

    def language(self, plugin_dir: str, name: str) -> str:
        return self._detect(plugin_dir, name)[0]

    def python2_reason(self, plugin_dir: str, name: str) -> Optional[str]:
        """Why the plugin needs the Python 2.7 environment (file and line), or None."""
        return self._detect(plugin_dir, name)[1]

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
