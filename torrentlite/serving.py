"""Serving a data directory over HTTP: bind first, serve until SIGTERM/SIGINT, then stop cleanly."""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel

from torrentlite import __version__
from torrentlite.logs import access_log, open_access_log

log = logging.getLogger("torrentlite")

STATE_FILE = "server.json"
CHECKPOINT_INTERVAL = 300.0  # seconds between WAL checkpoints, so the main file stays current
DRAIN_TIMEOUT = 30.0         # seconds in-flight requests get to finish at shutdown


class Server:
    """waitress on the app's settings, with a clean shutdown and a state file for `torrentlite status`."""

    def __init__(self, app):
        settings = app.settings
        self.app = app
        self.stopping = threading.Event()
        # create_server binds the socket: a port in use raises OSError here, before anything is printed.
        self.access_log = open_access_log(settings)
        try:
            self.waitress = waitress.create_server(
                access_log(app.wsgi, self.access_log), host=settings.host, port=settings.port,
                threads=settings.threads, ident="torrentlite",
                max_request_body_size=int(settings.max_upload_mb * 1024 * 1024))
        except BaseException:
            if self.access_log is not None:
                self.access_log.close()
            raise
        self.map = getattr(self.waitress, "_map", None) or self.waitress.map
        self.state_path = settings.data_path / STATE_FILE

    @property
    def dispatcher(self):
        return self.waitress.task_dispatcher

    def _listeners(self) -> list:
        return [d for d in list(self.map.values()) if isinstance(d, waitress.server.BaseWSGIServer)]

    def serve(self) -> None:
        """Serve until SIGTERM or SIGINT (or :meth:`stop`), then shut down cleanly."""
        previous = {sig: signal.signal(sig, self._on_stop_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, self._on_wake_signal)
        checkpoints = threading.Thread(target=self._checkpoint_loop, name="torrentlite-checkpoint", daemon=True)
        try:
            self._write_state()
            log.info("torrentlite %s serving %s on http://%s:%s (pid %s)", __version__, self.app.settings.data_path,
                     self.app.settings.host, self.app.settings.port, os.getpid())
            checkpoints.start()
            while not self.stopping.is_set():
                wasyncore.loop(timeout=1.0, map=self.map, use_poll=True, count=1)
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            checkpoints.join(5)

    def stop(self) -> None:
        self.stopping.set()
        try:
            self.waitress.pull_trigger()
        except (OSError, AttributeError):  # already closed; the loop sees the flag within a second
            pass

    def _on_stop_signal(self, signum, frame) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        self.stop()

    def _on_wake_signal(self, signum, frame) -> None:
        # `torrentlite plugin run` beside this server queued a job: start it now, not at the next poll.
        if self.app.scheduler is not None:
            self.app.scheduler.wake()

    def _busy(self) -> bool:
        channels = [c for c in list(self.map.values()) if isinstance(c, HTTPChannel)]
        return bool(self.dispatcher.queue or self.dispatcher.active_count
                    or any(c.requests or c.total_outbufs_len for c in channels))

    def _shutdown(self) -> None:
        # 1. stop accepting: close the listening sockets, keep the connections being answered.
        for listener in self._listeners():
            listener.accepting = False
            listener.del_channel()
            listener.socket.close()
        # 2. let the requests in flight finish and their answers go out.
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while self._busy() and time.monotonic() < deadline:
            wasyncore.loop(timeout=0.1, map=self.map, use_poll=True, count=1)
        if self._busy():
            log.warning("stopping with requests still in flight after %.0f s", DRAIN_TIMEOUT)
        self.dispatcher.shutdown(timeout=5)
        wasyncore.close_all(self.map)
        if self.access_log is not None:
            self.access_log.close()
        # 3. the scheduler stops; running plugin jobs keep running and are re-attached at the next start.
        running = self._running_jobs()
        self.app.close()  # checkpoints the WAL into the main file
        if running:
            log.info("left %d plugin job(s) running; the next start re-attaches them", running)
        try:
            self.state_path.unlink()
        except OSError:
            pass
        log.info("stopped")

    def _running_jobs(self) -> int:
        try:
            return server_jobs(self.app.store)["running"]
        except Exception:  # a damaged database must not stop the shutdown
            log.exception("could not count running jobs")
            return 0

    def _write_state(self) -> None:
        settings = self.app.settings
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        state = {"pid": os.getpid(), "url": f"http://{host}:{settings.port}/rundb/api/v1/",
                 "version": __version__, "started": time.time(), "host": settings.host, "port": settings.port}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_path)

    def _checkpoint_loop(self) -> None:
        store = self.app.store
        while not self.stopping.wait(CHECKPOINT_INTERVAL):
            try:
                store.checkpoint("PASSIVE")
            except Exception:
                log.exception("WAL checkpoint failed")
        store.db.close()  # this thread's connection


def check_port_free(host: str, port: int) -> None:
    """Raise OSError now when `host:port` cannot be bound (in use, or an address this machine lacks)."""
    import socket

    for family, kind, proto, _, address in socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
            probe.bind(address)


def server_jobs(store) -> dict:
    """Plugin jobs queued and running on this data directory."""
    from torrentlite.runner.states import ACTIVE, JobState

    states = [s.value for s in ACTIVE]
    rows = store.db.execute_sql(
        f'SELECT state, COUNT(*) FROM "PluginResultJob" WHERE state IN ({",".join("?" * len(states))}) '
        f'GROUP BY state', states).fetchall()
    counts = dict(rows)
    running = counts.get(JobState.STARTED.value, 0)
    return {"queued": sum(counts.values()) - running, "running": running}
