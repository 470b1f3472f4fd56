"""Which process runs a data directory's plugin jobs: whoever holds its scheduler lock."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Optional

LOCK_NAME = "scheduler.lock"


class SchedulerLock:
    """An exclusive, non-blocking lock on `<data dir>/scheduler.lock`.

    Two schedulers on one database could both start the same queued job, so exactly one
    process (normally `torrentlite serve`) owns them. The operating system drops the lock when
    that process dies, so a crash never leaves a data directory without an owner.
    """

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """True when this process now owns the jobs (or already did)."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def owner_pid(self) -> Optional[int]:
        try:
            return int(self.path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
