"""A Python plugin's custom_validation(config, run_mode), run in a subprocess before its job starts."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Optional

from .inspect import PLUGINLIB

log = logging.getLogger("torrentlite.runner")

# Imports the plugin module under its own name (so its `if __name__ == "__main__"` block stays
# idle), instantiates the class named like the plugin and prints what custom_validation returns.
# It runs on Python 3 and, for Python 2 plugins, on the legacy environment's 2.7.
_BOOTSTRAP = r"""
import json, sys
request = json.load(sys.stdin)
sys.path.insert(0, request["dir"])
try:
    import importlib.util
    spec = importlib.util.spec_from_file_location(request["name"], request["file"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
except ImportError:
    import imp
    module = imp.load_source(request["name"], request["file"])
plugin = getattr(module, request["name"])()
errors = plugin.custom_validation(request["config"], request["run_mode"]) or []
if isinstance(errors, str):
    errors = [errors]
sys.stdout.write("\n" + json.dumps({"errors": [str(e) for e in errors]}) + "\n")
"""


def defines_custom_validation(source: str) -> bool:
    return "def custom_validation" in source


def custom_validation_errors(plugin_dir: str, name: str, config: dict, run_mode: str,
                             timeout: float = 10.0, python: str = sys.executable) -> List[str]:
    """The messages of the plugin's custom_validation; [] when it has none or cannot be run.

    As on Torrent Suite, a plugin whose module cannot be imported is not refused here (its job
    fails and says why); a validation that hangs is given up after `timeout` seconds.
    """
    path = Path(plugin_dir, f"{name}.py")
    try:
        if not defines_custom_validation(path.read_text(encoding="utf-8", errors="replace")):
            return []
    except OSError:
        return []
    env = dict(os.environ, PYTHONPATH=str(PLUGINLIB), PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    request = json.dumps({"dir": str(plugin_dir), "name": name, "file": str(path), "config": config or {},
                          "run_mode": run_mode})
    try:
        proc = subprocess.Popen([str(python), "-s", "-c", _BOOTSTRAP], cwd=str(plugin_dir), env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        log.warning("%s: custom_validation not run: %s", name, exc)
        return []
    try:
        stdout, stderr = proc.communicate(request.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        log.warning("%s: custom_validation gave no answer within %gs; launching without it", name, timeout)
        return []
    lines = stdout.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        log.warning("%s: custom_validation failed (%s); launching without it", name, tail[0])
        return []
    try:
        return list(json.loads(lines[-1])["errors"])
    except (ValueError, KeyError, TypeError):
        return []


class ValidationQueue:
    """custom_validation calls run in worker threads (each a subprocess with a time limit), so neither an
    API request nor the scheduler's tick ever waits on plugin code."""

    def __init__(self, languages, timeout: float = 10.0, workers: int = 2,
                 legacy_python: Optional[Callable[[], Optional[Path]]] = None):
        self.languages = languages
        # Python 2 plugins validate with the legacy environment's interpreter, when there is one.
        self.legacy_python = legacy_python or (lambda: None)
        self.timeout = timeout
        self.workers = workers
        self.on_done: Optional[Callable[[], None]] = None
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pending: Dict[tuple, Future] = {}
        self._lock = threading.Lock()

    @staticmethod
    def needed(plugin_dir: str, name: str) -> bool:
        """Whether the plugin defines custom_validation (its source is read, never run)."""
        try:
            return defines_custom_validation(Path(plugin_dir, f"{name}.py").read_text(encoding="utf-8",
                                                                                        errors="replace"))
        except OSError:
            return False

    def result(self, key: tuple, plugin_dir: str, name: str, config: dict, run_mode: str) -> Optional[List[str]]:
        """The messages once the validation under `key` finished; None while it runs (started on first ask)."""
        with self._lock:
            future = self._pending.get(key)
            if future is None:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="torrentlite-validate")
                future = self._pending[key] = self._pool.submit(self._validate, plugin_dir, name, config, run_mode)
                if self.on_done is not None:
                    future.add_done_callback(lambda _f: self.on_done())
                return None
            if not future.done():
                return None
            del self._pending[key]
        try:
            return future.result()
        except Exception:
            log.exception("%s: custom_validation could not be run; launching without it", name)
            return []

    def _validate(self, plugin_dir: str, name: str, config: dict, run_mode: str) -> List[str]:
        language = self.languages.language(plugin_dir, name)
        python = sys.executable if language == "python3" else self.legacy_python() if language == "python2" else None
        if python is None:
            return []
        return custom_validation_errors(plugin_dir, name, config, run_mode, timeout=self.timeout, python=python)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._pending.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
