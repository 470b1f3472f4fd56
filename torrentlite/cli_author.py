"""`torrentlite plugin new|check|pack|test`: write, check, pack and try a plugin without a Torrent Server."""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from torrentlite.runner.states import RunLevel
from torrentlite.cli_common import PLUGIN_JOBS, existing_data_dir, row_id
from torrentlite.settings import SETTINGS, resolve

LEVELS = tuple(level.value for level in RunLevel)


class UsageError(Exception):
    """Bad arguments or an unusable folder: printed without a traceback, exit status 2."""


def _settings(args):
    return resolve({s.name: getattr(args, s.name, None) for s in SETTINGS})


def _installed(args):
    """{name: version} of the plugins installed in the data directory; None when it has no database yet."""
    from torrentlite.runner.authoring import installed_versions
    from torrentlite.store.db import Store

    settings = _settings(args)
    if not settings.db_path.exists():
        return None
    store = Store(settings.db_path, settings.db_driver)
    try:
        return installed_versions(store)
    finally:
        store.close()


def cmd_new(args) -> int:
    from torrentlite.runner.scaffold import new_plugin

    folder = new_plugin(args.name, Path(args.dir), launch_sh=args.launch_sh, python2=args.python2)
    print("created %s" % folder)
    print("next: torrentlite plugin test %s --result 1   (a demo report: torrentlite init --demo)" % folder)
    return 0


def cmd_check(args) -> int:
    from torrentlite.runner.authoring import check_plugin, problems_json
    from torrentlite.runner.problems import ERROR

    path = Path(args.path)
    if not path.exists():
        raise UsageError("%s does not exist" % path)
    info, problems = check_plugin(path, installed=_installed(args))
    if args.json:
        print(problems_json(problems))
    else:
        for problem in problems:
            print(problem)
        if info is not None:
            print("%s %s (%s): %d error(s), %d warning(s)" % (
                info.name, info.version, info.language, sum(p.severity == ERROR for p in problems),
                sum(p.severity != ERROR for p in problems)))
    failing = problems if args.strict else [p for p in problems if p.severity == ERROR]
    return 1 if failing else 0


def cmd_pack(args) -> int:
    from torrentlite.runner.authoring import pack_plugin
    from torrentlite.runner.inspect import PluginError

    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError("%s is not a folder" % folder)
    try:
        zip_path, warnings = pack_plugin(folder, Path(args.output) if args.output else None,
                                         installed=_installed(args))
    except PluginError as exc:
        print("torrentlite: %s" % exc.message, file=sys.stderr)
        return 1
    for warning in warnings:
        print(warning)
    print("wrote %s" % zip_path)
    return 0


def serve_api(app):
    """Serve the app's API on a free loopback port for the plugin's REST calls; returns (url, stop)."""
    import waitress.server
    from waitress import wasyncore

    server = waitress.server.create_server(app.wsgi, host="127.0.0.1", port=0, threads=2, ident="torrentlite")

    def serve():
        try:
            server.run()
        finally:
            server.task_dispatcher.shutdown()

    thread = threading.Thread(target=serve, name="torrentlite-plugin-test-api", daemon=True)
    thread.start()

    def stop():
        # Sockets are closed by the server's own thread (through its trigger); its loop then ends.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(10)

    return "http://127.0.0.1:%s" % server.effective_port, stop


def cmd_test(args) -> int:
    from torrentlite.app import build_app
    from torrentlite.runner.inspect import PluginError
    from torrentlite.runner.manager import PluginManager
    from torrentlite.runner.scheduler import LaunchError
    from torrentlite.runner.workbench import folder_fingerprint, run_trial
    from torrentlite.setup_data import initialize

    folder = Path(args.dir).resolve()
    if not folder.is_dir():
        raise UsageError("%s is not a folder" % folder)
    try:
        config = json.loads(args.config) if args.config else None
    except ValueError as exc:
        raise UsageError("--config is not JSON: %s" % exc)
    if config is not None and not isinstance(config, dict):
        raise UsageError("--config must be a JSON object")
    settings = existing_data_dir(args)  # only serve and init make a data directory
    app = build_app(settings)
    initialize(settings, app.store)
    stop_api = None
    try:
        # Beside a running server, that server owns the jobs: the run is queued for it and followed here.
        owner = app.scheduler_lock.acquire()
        public_url = settings.net_location
        if owner:
            app.scheduler.recover()
            url, stop_api = serve_api(app)
            settings["web_root"] = url
        else:
            print("a server (pid %s) runs this data directory's plugins: queued for it"
                  % app.scheduler_lock.owner_pid(), file=sys.stderr)
        manager = PluginManager(app.store, settings.plugins_path)
        runs, status, seen = 0, 0, None
        while True:
            seen = folder_fingerprint(folder)
            try:
                trial = run_trial(app.scheduler, manager, folder, args.result, owner=owner,
                                  net_location=public_url, level=args.level, config=config, user=args.user,
                                  write=lambda line: print(line, flush=True), timeout=args.timeout)
                status = _report(trial)
            except (PluginError, LaunchError) as exc:
                print("torrentlite: %s" % getattr(exc, "message", exc), file=sys.stderr)
                status = 2 if isinstance(exc, LaunchError) and not args.watch else 1
            runs += 1
            if not args.watch or (args.runs and runs >= args.runs):
                return status
            print("watching %s for changes (Ctrl-C to stop)" % folder, flush=True)
            while folder_fingerprint(folder) == seen:
                time.sleep(args.interval)
    finally:
        if stop_api is not None:
            stop_api()
        app.close()


def _report(trial) -> int:
    if trial is None:
        print("nothing to run: the plugin has no job at that run level on this report")
        return 1
    print("-" * 78)
    print("%s: plugin result %s" % (trial.plugin, trial.pluginresult))
    for level, state, reason in trial.jobs:
        print("  %-10s %s%s" % (level or "-", state, " (%s)" % reason if reason else ""))
    if not trial.finished:
        print("  stopped: it ran longer than --timeout")
    print("store (results.json): %s" % json.dumps(trial.store, sort_keys=True))
    print("output folder: %s" % trial.results_dir)
    for name in trial.files:
        print("  %s" % name)
    if trial.block_url:
        print("block: %s" % trial.block_url)
    return 0 if trial.ok else 1


def _run(func):
    def wrapped(args) -> int:
        from torrentlite.runner.inspect import PluginError

        try:
            return func(args)
        except (UsageError, PluginError) as exc:
            print("torrentlite: %s" % getattr(exc, "message", exc), file=sys.stderr)
            return 2
    return wrapped


def add_commands(sub, add_setting_flags) -> None:
    """Add new, check, pack and test to the `plugin` sub-parsers."""
    p = sub.add_parser("new", help="write a working plugin folder to start from (a commented tutorial)")
    p.add_argument("name", help="the plugin's name: its folder, file and class")
    p.add_argument("--dir", default=".", help="where to create the folder (default: here)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--launch-sh", action="store_true", help="a legacy shell plugin (launch.sh)")
    kind.add_argument("--python2", action="store_true",
                      help="code that also runs on Torrent Suite 5's Python 2.7 plugin environment")
    p.set_defaults(func=_run(cmd_new))
    p = sub.add_parser("check", help="list what the installer or a run would refuse or trip over "
                                     "(exit 0 clean, 1 problems, 2 usage error)")
    p.add_argument("path", help="a plugin folder or .zip")
    p.add_argument("--strict", action="store_true", help="warnings count as problems too")
    p.add_argument("--json", action="store_true", help="print the problems as JSON")
    add_setting_flags(p)
    p.set_defaults(func=_run(cmd_check))
    p = sub.add_parser("pack", help="zip a plugin folder as the installer accepts it (refused when check "
                                    "finds errors)")
    p.add_argument("dir", help="the plugin folder")
    p.add_argument("-o", "--output", help="the zip to write (default: ./<Name>-<version>.zip)")
    add_setting_flags(p)
    p.set_defaults(func=_run(cmd_pack))
    p = sub.add_parser("test", help="run a plugin from its folder on a report, without installing it, and "
                                    "follow its log")
    p.add_argument("dir", help="the plugin folder")
    p.add_argument("--result", type=row_id, required=True, help="report (results) primary key")
    p.add_argument("--level", choices=LEVELS, help="run only at this run level")
    p.add_argument("--config", help="the run's configuration as a JSON object (as instance.html sends)")
    p.add_argument("--user", default="ionadmin", help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, default=0, help="stop the plugin after this many seconds (0: never)")
    p.add_argument("--watch", action="store_true", help="run again whenever a file of the plugin changes")
    p.add_argument("--runs", type=int, default=0, help="with --watch: stop after this many runs (0: never)")
    p.add_argument("--interval", type=float, default=1.0, help="with --watch: seconds between looks at the folder")
    add_setting_flags(p, PLUGIN_JOBS)
    p.set_defaults(func=_run(cmd_test))
