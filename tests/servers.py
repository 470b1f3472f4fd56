"""A real `torrentlite serve` process on a data directory, for tests of the operations around it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, free_port, wait_until_responds

ENV = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def cli(*args, input=None, timeout=120) -> subprocess.CompletedProcess:
    """`python -m torrentlite ARGS` as a person runs it (no terminal on stdin)."""
    return subprocess.run([sys.executable, "-m", "torrentlite", *map(str, args)], capture_output=True, text=True,
                          env=ENV, input=input if input is not None else "", timeout=timeout)


class Served:
    def __init__(self, data_dir: Path, *flags: str, port: int | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--port", str(self.port),
                                      "--data-dir", str(data_dir), "--threads", "4", *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
        wait_until_responds(f"{self.url}/rundb/api/v1/", proc=self.proc)

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def output(self) -> str:
        return self.proc.stdout.read() if self.proc.stdout else ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if self.proc.stdout:
            self.proc.stdout.close()


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"{what} not reached within {timeout}s")
