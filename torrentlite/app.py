"""build_app(settings): the Bottle app with its store and API, ready to serve; starts nothing."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import bottle

from torrentlite.api import (datamanagement, endpoints, file_downloads, plugin_runs, plugin_support, plugins,
                             publishing, securestring)
from torrentlite.api.errors import CANNED_MESSAGE
from torrentlite.api.http import Api, mount
from torrentlite.api.write import WriteHandler
from torrentlite.api.write_endpoints import register as register_writes
from torrentlite.datamgmt.filemonitor import Downloads
from torrentlite.datamgmt.worker import DmWorker
from torrentlite.runner.executor import ExecutorUnavailable
from torrentlite.runner.ownership import SchedulerLock
from torrentlite.settings import Settings
from torrentlite.store.db import Store
from torrentlite import web
from torrentlite.web import output

log = logging.getLogger("torrentlite")


class StartupError(RuntimeError):
    """The server cannot start on this data directory."""


@dataclass
class App:
    """Everything a running server holds."""

    settings: Settings
    store: Store
    api: Api
    wsgi: bottle.Bottle
    scheduler: object = None
    dm_worker: object = None
    downloads: object = None

    def __post_init__(self):
        self.scheduler_lock = SchedulerLock(self.settings.data_path)

    def start(self) -> None:
        """Take ownership of the data directory's background work: plugin jobs and data management.

        :raises StartupError: another process (a second server) already runs them.
        """
        if self.scheduler is None:
            return
        self.check_executor()
        if not self.scheduler_lock.acquire():
            raise StartupError(f"another torrentlite process (pid {self.scheduler_lock.owner_pid()}) already "
                               f"serves {self.settings.data_path}; stop it or use another --data-dir")
        self.scheduler.start()
        if self.dm_worker is not None:
            self.dm_worker.start()
        if self.downloads is not None:
            self.downloads.resume_unfinished()

    def check_executor(self) -> str:
        """Make sure plugin jobs can run (e.g. Grid Engine is reachable); return what they run on.

        :raises StartupError: with the one message that says what is missing.
        """
        if self.scheduler is None:
            return ""
        try:
            return self.scheduler.executor.check()
        except ExecutorUnavailable as exc:
            raise StartupError(f"cannot run plugin jobs with executor {self.settings.get('executor', 'local')}: "
                               f"{exc}") from None

    def close(self) -> None:
        if self.downloads is not None:
            self.downloads.stop()
        if self.dm_worker is not None:
            self.dm_worker.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.scheduler_lock.release()
        self.api.plugin_extend.close()
        self.api.pages.close()
        try:
            self.store.checkpoint("TRUNCATE")  # the main file alone then holds every committed write
        except Exception as exc:  # a busy or damaged database still closes
            log.warning("WAL checkpoint at close failed: %s", exc)
        self.store.close()


def _json_error(error: bottle.HTTPError) -> str:
    if web.wants_page(bottle.request):
        return web.error_page(error)
    bottle.response.content_type = "application/json"
    if error.status_code >= 500:
        return json.dumps({"error_message": CANNED_MESSAGE})
    return json.dumps({"error": f"{error.status_line}: {bottle.request.path}"})


def build_app(settings: Settings, store: Store | None = None) -> App:
    store = store or Store(settings.db_path, settings.db_driver)
    api = Api(store, settings)
    endpoints.register(api)
    plugins.register(api)
    plugin_support.register(api)
    publishing.register(api)
    api.writes = WriteHandler(api)
    register_writes(api)
    wsgi = bottle.Bottle(catchall=True)
    wsgi.default_error_handler = _json_error
    # peewee keeps one SQLite connection per thread; waitress's threads live as long as the server.
    mount(wsgi, api)
    securestring.mount(wsgi, api)
    publishing.mount(wsgi, api, lambda: settings.net_location)
    plugins.mount_pages(wsgi, api)
    output.mount(wsgi, api, settings.data_path)
    scheduler = plugin_runs.build_scheduler(store, settings)
    plugin_runs.register(api, scheduler)
    api.plugins.changed.append(scheduler.plugins_changed)
    dm_worker = DmWorker(store, settings, auto_interval=settings.dm_check_interval)
    datamanagement.register(api, dm_worker)
    downloads = Downloads(store, str(settings.data_path / "downloads"))
    file_downloads.register(api, downloads)
    web.mount(wsgi, api, scheduler)
    return App(settings, store, api, wsgi, scheduler, dm_worker, downloads)
