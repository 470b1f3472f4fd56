"""Call `function(bucket)` of a plugin's extend.py in a separate process, with a time limit.

Plugin code never runs in the server process: a small worker script (data/extend_worker.py in this package)
loads extend.py with the `ion` package importable, takes JSON requests on stdin and answers in JSON on
stdout. A crash, a hang or garbage output of a plugin costs one worker process, never the server.

Starting Python for every call costs tens of milliseconds, so finished workers are kept for the next call
to the same plugin (`idle_per_plugin`, 0 = a new process per call). A worker is only reused for the same
plugin folder while extend.py is unchanged; extend.py itself is re-read on every call, as on Torrent Suite.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from torrentlite.runner.inspect import PLUGINLIB

__all__ = ["ExtendRunner", "ExtendOutcome", "WORKER_SCRIPT", "OK", "MISSING", "ERROR"]

WORKER_SCRIPT = Path(__file__).resolve().parent.parent / "data" / "extend_worker.py"
OK, MISSING, ERROR = "ok", "missing", "error"
MAX_ANSWER_BYTES = 64 * 1024 * 1024


@dataclass
class ExtendOutcome:
    """What a call gave: status OK with `result`, MISSING (no such function: 404) or ERROR with `message`."""

    status: str
    result: Any = None
    message: str = ""


class _Failure(Exception):
    pass


class _Worker:
    """One worker process for one plugin folder."""

    def __init__(self, plugin_dir: Path, name: str, env: dict):
        self.plugin_dir = plugin_dir
        self.name = name
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-s", str(WORKER_SCRIPT), str(plugin_dir), name],
                                     cwd=str(plugin_dir), env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, start_new_session=True)
        self.buffer = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: dict, timeout: float) -> dict:
        try:
            self.proc.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Failure("the extend worker of %s exited before the call%s" % (self.name, self._tail()))
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.kill()
                    raise _Failure("%s in extend.py of %s did not finish within %gs"
                                   % (request.get("function"), self.name, timeout))
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.kill()
                    raise _Failure("%s in extend.py of %s ended the worker process (exit %s)%s"
                                   % (request.get("function"), self.name, self.proc.returncode, self._tail()))
                self.buffer += chunk
                if len(self.buffer) > MAX_ANSWER_BYTES:
                    self.kill()
                    raise _Failure("the answer of %s in extend.py of %s is larger than %d bytes"
                                   % (request.get("function"), self.name, MAX_ANSWER_BYTES))
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            answer = json.loads(line.decode("utf-8"))
            if not isinstance(answer, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError) as exc:
            self.kill()
            raise _Failure("the extend worker of %s answered something that is not JSON: %s" % (self.name, exc))
        return answer

    def _tail(self) -> str:
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.stderr.seek(0)
            lines = self.stderr.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            lines = []
        return (": " + lines[-1]) if lines else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.close_files()

    def stop(self) -> None:
        """Let an idle worker end by closing its input; kill it if it lingers."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
        self.close_files()

    def close_files(self) -> None:
        for handle in (self.proc.stdin, self.proc.stdout, self.stderr):
            try:
                handle.close()
            except (OSError, ValueError):
                pass


class ExtendRunner:
    """Runs extend.py functions in worker processes; thread-safe."""

    def __init__(self, timeout: float = 30, idle_per_plugin: int = 2, max_idle: int = 32):
        self.timeout = timeout
        self.idle_per_plugin = idle_per_plugin
        self.max_idle = max_idle
        self._idle: dict[tuple, list[_Worker]] = {}
        self._lock = threading.Lock()
        self.env = dict(os.environ, PYTHONPATH=str(PLUGINLIB), PYTHONDONTWRITEBYTECODE="1",
                        PYTHONIOENCODING="utf-8")

    @staticmethod
    def _key(plugin_dir: Path, name: str) -> Optional[tuple]:
        try:
            folder = os.stat(plugin_dir)
            script = os.stat(plugin_dir / "extend.py")
        except OSError:
            return None
        return (str(plugin_dir), name, folder.st_ino, script.st_ino, script.st_mtime_ns, script.st_size)

    def _take(self, key, plugin_dir: Path, name: str) -> _Worker:
        with self._lock:
            idle = self._idle.get(key) or []
            while idle:
                worker = idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return _Worker(plugin_dir, name, self.env)

    def _give_back(self, key, worker: _Worker) -> None:
        stale = []
        with self._lock:
            keep = self.idle_per_plugin > 0 and worker.alive()
            if keep:
                for other in [k for k in self._idle if k[0] == key[0] and k != key]:
                    stale.extend(self._idle.pop(other))
                idle = self._idle.setdefault(key, [])
                total = sum(len(v) for v in self._idle.values())
                keep = len(idle) < self.idle_per_plugin and total < self.max_idle
                if keep:
                    idle.append(worker)
        for old in stale:
            old.stop()
        if not keep:
            worker.stop()

    def call(self, plugin_dir, name: str, function: str, bucket: dict,
             timeout: Optional[float] = None) -> ExtendOutcome:
        """Run `function(bucket)` from `<plugin_dir>/extend.py`; `bucket` must be JSON-serialisable."""
        plugin_dir = Path(plugin_dir)
        timeout = self.timeout if timeout is None else timeout
        if not (plugin_dir / "extend.py").is_file():
            return ExtendOutcome(MISSING, message="plugin %s has no extend.py" % name)
        key = self._key(plugin_dir, name)
        try:
            request = {"function": function, "bucket": bucket}
            json.dumps(request)
        except (TypeError, ValueError) as exc:
            return ExtendOutcome(ERROR, message="the request cannot be passed to extend.py: %s" % exc)
        try:
            worker = self._take(key, plugin_dir, name)
        except OSError as exc:
            return ExtendOutcome(ERROR, message="cannot start the extend worker for %s: %s" % (name, exc))
        try:
            answer = worker.ask(request, timeout)
        except _Failure as exc:
            return ExtendOutcome(ERROR, message=str(exc))
        except BaseException:
            worker.kill()
            raise
        if key is not None and self._key(plugin_dir, name) == key:
            self._give_back(key, worker)
        else:
            worker.stop()
        if answer.get("ok"):
            return ExtendOutcome(OK, result=answer.get("result"))
        if "missing" in answer:
            return ExtendOutcome(MISSING, message=str(answer["missing"]))
        return ExtendOutcome(ERROR, message=str(answer.get("error") or "extend.py failed"))

    def close(self) -> None:
        """Stop every idle worker."""
        with self._lock:
            workers = [w for group in self._idle.values() for w in group]
            self._idle.clear()
        for worker in workers:
            worker.stop()
