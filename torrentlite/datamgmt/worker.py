"""The server's data-management thread: runs queued actions, keeps sizes current, applies automatic rules."""
from __future__ import annotations

import logging
import os
import threading
import time

from torrentlite.datamgmt import actions, state

log = logging.getLogger("torrentlite.datamgmt")


class DmWorker:
    """One background thread per server (the process holding the data directory's lock).

    Each tick: resume or run one journaled action at a time, re-measure reports whose files
    changed, and every `auto_interval` seconds run the automatic-action check.
    """

    def __init__(self, store, settings, tick: float = 2.0, auto_interval: float = 60.0,
                 busy_interval: float = 60.0, clock=time.monotonic):
        self.store = store
        self.settings = settings
        self.tick = tick
        self.auto_interval = auto_interval
        self.busy_interval = busy_interval
        self.clock = clock
        # When each report was last measured (those measured within busy_interval).
        self._measured: dict[int, float] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_auto = 0.0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="torrentlite-dm", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (a request was just queued)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _busy_measured(self) -> list[int]:
        """Reports measured within ``busy_interval`` whose plugin jobs still run: each job that starts or
        ends marks them stale again, and walking a report folder after every job of a long queue would
        cost more than the jobs. They are measured again once their last job ends, or after the interval."""
        now = self.clock()
        self._measured = {pk: at for pk, at in self._measured.items() if now - at < self.busy_interval}
        return state.busy_reports(self.store.db, self._measured)

    def _loop(self) -> None:
        try:
            # Data management is background work: a lower CPU priority for this thread (Linux
            # applies a thread id here) leaves the API threads ahead of it.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the thread must outlive any one failure; the cause is logged
                log.exception("data-management step failed")
            self._wake.wait(self.tick)
            self._wake.clear()
        self.store.db.close()  # this thread's connection

    def step(self) -> None:
        action = actions.next_queued(self.store.db)
        if action is not None:
            actions.run(self.store, action)
            self._wake.set()  # more may be waiting
            return
        for result_id in state.stale_reports(self.store.db, limit=20, skip=self._busy_measured()):
            if self._stop.is_set():
                return
            state.measure(self.store, result_id)
            self._measured[result_id] = self.clock()
        if self.auto_interval and time.monotonic() - self._last_auto >= self.auto_interval:
            self._last_auto = time.monotonic()
            from torrentlite.datamgmt import auto

            auto.apply(self.store)
