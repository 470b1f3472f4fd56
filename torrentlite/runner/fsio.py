"""Small-file reads and atomic writes with the fewest system calls: jobs start and end by the hundred."""
from __future__ import annotations

import os
import stat
from typing import Optional


_CHUNK = 65536


def read_bytes(path) -> bytes:
    """The whole file (raises OSError as ``open`` does); no buffered-file set-up around the read.

    For the regular and /proc files read here a short read is the end of the file: most take one read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, _CHUNK)
            chunks.append(chunk)
            if len(chunk) < _CHUNK:
                return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path) -> str:
    """The whole file as text (UTF-8, undecodable bytes replaced)."""
    return read_bytes(path).decode("utf-8", errors="replace")


def write_atomic(path, data: bytes, mode: Optional[int] = None) -> None:
    """Write ``data`` to ``<path>.tmp``, then rename it over ``path``: a reader sees the old file or the new.

    ``mode`` (when given) is set exactly, whatever the umask; otherwise the file is created as ``open`` would.
    """
    path = os.fspath(path)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, path)


def real_path(path) -> str:
    """``os.path.realpath(path)``: for a path that exists, the kernel's own name for what it opens (three
    system calls, where resolving one component at a time takes one per component)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return os.path.realpath(path)
    try:
        found = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(path)
    finally:
        os.close(fd)
    return found if found.startswith("/") and not found.endswith(" (deleted)") else os.path.realpath(path)


def ensure_dir(path) -> None:
    """Create the folder ``path`` (and its parents) unless it exists; one system call when it does."""
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            return
    except FileNotFoundError:
        pass
    os.makedirs(path, exist_ok=True)


__all__ = ["read_bytes", "read_text", "write_atomic", "real_path", "ensure_dir"]
