"""Cheap reads of /proc for the local executor: fork counter, pids handed out since, child lists, exits."""
from __future__ import annotations

import os
import select
import threading
from typing import Callable, Dict, List, NamedTuple, Optional

from .fsio import read_bytes


def _read_int(path: str, field: int = 0, prefix: bytes = b"") -> Optional[int]:
    """One whitespace-separated number of a /proc file (of the line starting with ``prefix``), or None."""
    try:
        for line in read_bytes(path).splitlines():
            if line.startswith(prefix):
                return int(line[len(prefix):].replace(b"/", b" ").split()[field])
    except (OSError, IndexError, ValueError):
        pass
    return None


def forks() -> Optional[int]:
    """Processes and threads created since boot (the kernel's fork counter)."""
    return _read_int("/proc/stat", prefix=b"processes ")


def pid_window(first: int, forks_before: Optional[int]) -> Optional[Callable[[int], bool]]:
    """A test "was this pid handed out at or after ``first``?"; None when that cannot be told.

    The kernel hands out pids in increasing order and wraps at pid_max. While the pids handed out since
    (``forks_before`` is the fork counter read just before ``first`` started) plus those it had to skip
    (live tasks) stay under half of pid_max, every process created after ``first`` has a pid between
    ``first`` and the last pid handed out, counting around the wrap.
    """
    pid_max, last, now = _read_int("/proc/sys/kernel/pid_max"), _read_int("/proc/sys/kernel/ns_last_pid"), forks()
    tasks = _read_int("/proc/loadavg", 4)       # "running/total" scheduling entities: the total
    if None in (pid_max, last, now, tasks, forks_before) or now - forks_before + tasks >= pid_max // 2:
        return None
    span = (last - first) % pid_max
    return lambda pid: pid == first or 0 < (pid - first) % pid_max <= span


CHILD_LISTS = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def descendants(pid: int) -> Optional[List[int]]:
    """Pids below ``pid`` from the kernel's per-thread child lists; None where the kernel has none.

    Much cheaper than deriving the tree from every process's parent (psutil reads all of /proc for
    that); a child missed while it is being created is found at the next poll or by the end's search.
    """
    if not CHILD_LISTS:
        return None
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                found = [int(x) for x in read_bytes(f"/proc/{parent}/task/{tid}/children").split()]
            except (OSError, ValueError):
                continue
            out.extend(found)
            todo.extend(found)
    return out


class Stat(NamedTuple):
    """The few fields of /proc/<pid>/stat a job's usage needs, from one read."""

    state: bytes
    cpu_ticks: int          # user + system time, in clock ticks
    threads: int
    start_ticks: int        # start time after boot, in clock ticks: with the pid, names one process
    rss_pages: int


def read_stat(pid: int) -> Optional[Stat]:
    try:
        fields = read_bytes(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()
        return Stat(fields[0], int(fields[11]) + int(fields[12]), int(fields[17]), int(fields[19]), int(fields[21]))
    except (OSError, IndexError, ValueError):
        return None


def children_of(pid: int, threads: int) -> List[int]:
    """Pids of the children of ``pid`` (a process with ``threads`` threads) from the kernel's child lists.

    A child belongs to the thread that created it: a single-threaded process has one list to read.
    """
    tids = [str(pid)] if threads == 1 else None
    if tids is None:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return []
    found = []
    for tid in tids:
        try:
            found.extend(int(x) for x in read_bytes(f"/proc/{pid}/task/{tid}/children").split())
        except (OSError, ValueError):
            continue
    return found


def start_ticks(pid: int) -> Optional[int]:
    stat = read_stat(pid)
    return None if stat is None else stat.start_ticks


def carries(pid: int, needle: bytes) -> bool:
    """Whether the environment process ``pid`` started with has the entry ``needle`` (``NAME=value``)."""
    try:
        return b"\0" + needle + b"\0" in b"\0" + read_bytes(f"/proc/{pid}/environ") + b"\0"
    except OSError:
        return False


class ExitWatch:
    """Calls ``notify`` as soon as a watched process ends, so the scheduler need not wait for its next tick.

    One thread sleeps in poll() on the processes' pidfds (which report the exit without collecting the
    process) and a wake-up pipe; it ends when nothing is left to watch. Without pidfds (old kernels)
    nothing is watched and ending jobs are found by polling, as before.
    """

    def __init__(self) -> None:
        self.notify: Optional[Callable[[], None]] = None
        self._fds: Dict[int, int] = {}
        self._lock = threading.Lock()
        self._pipe: Optional[tuple] = None
        self._thread: Optional[threading.Thread] = None

    def add(self, pid: int) -> None:
        if self.notify is None:
            return
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            return
        with self._lock:
            self._fds[fd] = pid
            if self._thread is None:
                self._pipe = os.pipe()
                self._thread = threading.Thread(target=self._run, args=(self._pipe,), name="torrentlite-exits",
                                                daemon=True)
                self._thread.start()
            else:
                os.write(self._pipe[1], b"x")

    def close(self) -> None:
        with self._lock:
            for fd in self._fds:
                os.close(fd)
            self._fds.clear()
            if self._pipe is not None:
                os.write(self._pipe[1], b"x")

    def _run(self, pipe: tuple) -> None:
        while True:
            with self._lock:
                if not self._fds:
                    self._thread = self._pipe = None
                    os.close(pipe[0])
                    os.close(pipe[1])
                    return
                poller = select.poll()
                poller.register(pipe[0], select.POLLIN)
                for fd in self._fds:
                    poller.register(fd, select.POLLIN)
            ended = False
            for fd, _event in poller.poll():
                if fd == pipe[0]:
                    os.read(pipe[0], 4096)
                    continue
                with self._lock:
                    if self._fds.pop(fd, None) is not None:
                        os.close(fd)
                        ended = True
            notify = self.notify
            if ended and notify is not None:
                notify()


__all__ = ["forks", "pid_window", "descendants", "children_of", "start_ticks", "read_stat", "carries", "Stat",
           "ExitWatch", "CHILD_LISTS"]
