"""`torrentlite run-plugin <Name> --result <pk>` and `torrentlite run-pipeline <pk>`: run plugins in-process."""
from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager

from torrentlite.cli_common import PLUGIN_JOBS, CliError, existing_data_dir, row_id


def _settings(args):
    return existing_data_dir(args)


def _run(args, launch) -> int:
    from torrentlite.app import StartupError, build_app
    from torrentlite.logs import setup_logging
    from torrentlite.runner.scheduler import LaunchError
    from torrentlite.runner.startplugin import fetch
    from torrentlite.setup_data import initialize

    settings = _settings(args)
    from torrentlite.cli import ensure_drmaa_loadable

    ensure_drmaa_loadable(settings)
    setup_logging(settings)  # jobs run here are logged in the data directory like the server's
    app = build_app(settings)
    initialize(settings, app.store)
    scheduler = app.scheduler
    try:
        # With a server running on this data directory, its scheduler runs the jobs queued here.
        owner = app.scheduler_lock.acquire()
        if owner:
            try:
                app.check_executor()
            except StartupError as exc:
                print(f"torrentlite: {exc}", file=sys.stderr)
                return 2
            scheduler.recover()
        try:
            launched = launch(scheduler)
        except LaunchError as exc:
            print(f"torrentlite: {exc}", file=sys.stderr)
            return 2
        if not launched:
            print("nothing to run")
            return 0
        timeout = args.timeout or float("inf")
        watch = Progress(app.store, launched)
        if owner:
            with _api_for_plugins(app):
                finished = _tick_until_idle(scheduler, watch, timeout)
        else:
            server_pid = app.scheduler_lock.owner_pid()
            print(f"queued; the server (pid {server_pid}) runs them", file=sys.stderr)
            wake_server(server_pid, app.settings.data_path)
            finished = _wait_for(app.store.db, [item["pluginresult"] for item in launched], timeout, watch)
        if not finished:
            ids = " ".join(str(item["pluginresult"]) for item in launched)
            print(f"torrentlite: still running after {args.timeout:g} s; the job goes on"
                  f"{' in the server' if not owner else ''}. Follow it with `tail -f <folder below>/"
                  f"drmaa_stdout.txt`, stop it with `torrentlite plugin stop <pluginresult>` ({ids})",
                  file=sys.stderr)
        ok = finished
        for item in launched:
            rows = fetch(app.store, "PluginResultJob", "plugin_result_id = ? ORDER BY grid_engine_jobid",
                         (item["pluginresult"],))
            states = [r["state"] for r in rows] or [item["state"]]
            pr = fetch(app.store, "pluginresult", "id = ?", (item["pluginresult"],))
            refused = pr and (pr[0].get("validation_errors") or {}).get("validation_errors")
            final = "Failed Validation" if refused or item["state"] == "Failed Validation" else states[-1]
            ok = ok and all(s == "Completed" for s in states) and bool(rows)
            print(f"{item['plugin']}\tpluginresult {item['pluginresult']}\t{final}\t{item['results_dir']}")
        return 0 if ok else 1
    finally:
        app.close()


@contextmanager
def _api_for_plugins(app):
    """Serve the API on a free loopback port while jobs run here: plugins report back and read through it."""
    from torrentlite.cli_author import serve_api

    url, stop = serve_api(app)
    app.settings["web_root"] = url
    try:
        yield
    finally:
        stop()


def _tick_until_idle(scheduler, watch, timeout: float) -> bool:
    """Run the jobs in this process, showing progress; False on timeout (the jobs keep running)."""
    from torrentlite.runner.scheduler import BUSY_INTERVAL

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        idle = scheduler.tick() == 0
        watch.show()
        if idle:
            return True
        time.sleep(BUSY_INTERVAL)
    return False


def _wait_for(db, pluginresults, timeout: float, watch=None) -> bool:
    """Wait until no job of these plugin results is active (showing progress); False on timeout."""
    from torrentlite.runner.states import ACTIVE

    marks = ",".join("?" * len(pluginresults))
    states = ",".join(f"'{s.value}'" for s in ACTIVE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = db.execute_sql(f'SELECT COUNT(*) FROM "PluginResultJob" WHERE plugin_result_id IN ({marks}) '
                                f'AND state IN ({states})', list(pluginresults)).fetchone()[0]
        if watch is not None:
            watch.show()
        if not active:
            return True
        time.sleep(0.25)
    return False


def wake_server(pid, data_path) -> None:
    """Ask the server to look at its queue now instead of at its next idle poll.

    Only a `serve` process (the one its state file names) handles the signal; another command
    holding the jobs would be ended by it, so it is left to find the job at its next poll.
    """
    import json
    import signal

    from torrentlite.serving import STATE_FILE

    try:
        state = json.loads((data_path / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if pid and state.get("pid") == pid:
        try:
            os.kill(pid, signal.SIGUSR1)
        except OSError:  # gone, or not ours: the server still finds the job at its next poll
            pass


class Progress:
    """Prints each job's state changes and the new lines of its log while a command waits."""

    def __init__(self, store, launched):
        self.store = store
        self.launched = launched
        self.states = {}
        self.offsets = {}

    def show(self) -> None:
        from torrentlite.runner.executor import LOG_NAME
        from torrentlite.runner.startplugin import fetch

        for item in self.launched:
            rows = fetch(self.store, "PluginResultJob", "plugin_result_id = ? ORDER BY grid_engine_jobid",
                         (item["pluginresult"],))
            state = rows[-1]["state"] if rows else item["state"]
            if self.states.get(item["pluginresult"]) != state:
                self.states[item["pluginresult"]] = state
                print(f"{item['plugin']}: {state}", file=sys.stderr)
            self._tail(item, os.path.join(item["results_dir"], LOG_NAME))
        sys.stderr.flush()

    def _tail(self, item, path: str) -> None:
        start = self.offsets.get(path, 0)
        try:
            with open(path, "rb") as handle:
                handle.seek(start)
                data = handle.read(65536)
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # whole lines only; the rest comes next time
        if end:
            self.offsets[path] = start + end
            for line in data[:end].decode("utf-8", "replace").splitlines():
                print(f"  {item['plugin']} | {line}", file=sys.stderr)


def cmd_stop(args) -> int:
    """Stop a plugin result's running jobs (their whole process trees), whoever started them."""
    from torrentlite.app import StartupError, build_app
    from torrentlite.cli import ensure_drmaa_loadable

    settings = _settings(args)
    ensure_drmaa_loadable(settings)
    app = build_app(settings)
    try:
        if not app.store.db.execute_sql('SELECT 1 FROM "pluginresult" WHERE id = ?', (args.pluginresult,)).fetchone():
            print(f"torrentlite: no plugin result {args.pluginresult}", file=sys.stderr)
            return 2
        try:
            app.check_executor()
        except StartupError as exc:
            print(f"torrentlite: {exc}", file=sys.stderr)
            return 2
        stopped = app.scheduler.cancel(args.pluginresult)
        print(f"pluginresult {args.pluginresult}: {stopped} job(s) cancelled")
        return 0
    finally:
        app.close()


def cmd_run_plugin(args) -> int:
    import json

    try:
        config = json.loads(args.config) if args.config else None
    except ValueError as exc:
        raise CliError(f"--config is not JSON ({exc}); give an object, e.g. --config '{{\"level\": 2}}'")
    if config is not None and not isinstance(config, dict):
        raise CliError("--config must be a JSON object, e.g. --config '{\"level\": 2}'")
    return _run(args, lambda s: s.launch(args.result, [args.name], run_mode="manual", pluginconfig=config,
                                         user=args.user))


def cmd_run_pipeline(args) -> int:
    return _run(args, lambda s: s.launch_pipeline(args.result, user=args.user))


def _plugin_run_args(p: argparse.ArgumentParser, add_setting_flags) -> None:
    p.add_argument("name", help="plugin name (or id)")
    p.add_argument("--result", type=row_id, required=True, help="report (results) primary key")
    p.add_argument("--config", help="instance configuration as a JSON object")
    p.add_argument("--user", default="ionadmin", help="owner of the plugin result")
    p.add_argument("--timeout", type=float, default=0, help="give up after this many seconds (0: never)")
    add_setting_flags(p, PLUGIN_JOBS)
    p.set_defaults(func=cmd_run_plugin)


def add_parser(subparsers, add_setting_flags) -> None:
    """Add ``run-plugin`` and ``run-pipeline`` (and ``plugin run`` when a ``plugin`` command exists)."""
    _plugin_run_args(subparsers.add_parser("run-plugin", help="run one plugin on a report and wait for it"),
                     add_setting_flags)
    existing = subparsers.choices.get("plugin")
    if existing is not None:
        for action in existing._actions:
            if isinstance(action, argparse._SubParsersAction) and "run" not in action.choices:
                _plugin_run_args(action.add_parser("run", help="run one plugin on a report and wait for it"),
                                 add_setting_flags)
                stop = action.add_parser("stop", help="stop a plugin result's running jobs")
                stop.add_argument("pluginresult", type=row_id, help="plugin result primary key")
                add_setting_flags(stop, PLUGIN_JOBS)
                stop.set_defaults(func=cmd_stop)
    p = subparsers.add_parser("run-pipeline", help="run the plan-selected plugins of a report through all levels")
    p.add_argument("result", type=row_id, help="report (results) primary key")
    p.add_argument("--user", default="ionadmin", help="owner of the plugin results")
    p.add_argument("--timeout", type=float, default=0, help="give up after this many seconds (0: never)")
    add_setting_flags(p, PLUGIN_JOBS)
    p.set_defaults(func=cmd_run_pipeline)
