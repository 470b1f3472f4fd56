"""`torrentlite plugin ...`: install, list, uninstall, rescan and show plugins of a data directory."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from torrentlite.cli_common import CliError, existing_data_dir


class PluginCliError(Exception):
    """A refused plugin command: printed without a traceback, exit status 2."""


def _manager(args):
    from torrentlite.runner.manager import PluginManager
    from torrentlite.setup_data import initialize
    from torrentlite.store.db import Store

    settings = existing_data_dir(args)
    store = Store(settings.db_path, settings.db_driver)
    initialize(settings, store)
    return store, PluginManager(store, settings.plugins_path)


def _by_name(manager, name: str) -> dict:
    row = manager.active_row(name)
    if row is None:
        raise PluginCliError("no installed plugin is named %s" % name)
    return row


def _run(args) -> int:
    from torrentlite.runner.inspect import PluginError

    store, manager = _manager(args)
    try:
        cmd = args.plugin_cmd
        if cmd == "install":
            source = Path(args.source)
            if source.is_dir():
                row = manager.install_dir(source)
            elif source.is_file():
                row = manager.install_zip(source)
            else:
                raise PluginCliError("%s does not exist" % source)
            print("installed %s %s (id %s) in %s" % (row["name"], row["version"], row["id"], row["path"]))
        elif cmd == "list":
            rows = manager.rows(active=None if args.all else True)
            for row in sorted(rows, key=lambda r: (r["name"].lower(), r["id"])):
                flags = ",".join(f for f, on in (("active", row["active"]), ("enabled", row["selected"]),
                                                 ("default", row["defaultSelected"])) if on)
                print("%s\t%s\t%s\t%s" % (row["id"], row["name"], row["version"], flags or "-"))
        elif cmd == "uninstall":
            row = _by_name(manager, args.name)
            manager.uninstall(row["id"])
            print("uninstalled %s %s" % (row["name"], row["version"]))
        elif cmd == "rescan":
            report = manager.rescan()
            for key in ("added", "updated", "deactivated"):
                if report[key]:
                    print("%s: %s" % (key, ", ".join(report[key])))
            for name, message in report["errors"].items():
                print("skipped %s: %s" % (name, message), file=sys.stderr)
        elif cmd == "info":
            row = _by_name(manager, args.name)
            info = manager.info(row["id"])
            if info is None:
                raise PluginCliError("the files of %s cannot be read" % args.name)
            print(json.dumps(info, indent=2, sort_keys=True, default=str))
    except PluginError as exc:
        raise PluginCliError(exc.message)
    finally:
        store.close()
    return 0


def cmd_plugin(args) -> int:
    try:
        return _run(args)
    except (PluginCliError, CliError) as exc:
        print("torrentlite: %s" % exc, file=sys.stderr)
        return 2


def add_parser(subparsers, add_setting_flags) -> None:
    """Add `plugin` and its sub-commands to the top-level sub-parsers."""
    plugin = subparsers.add_parser("plugin", help="install, list, uninstall and rescan plugins")
    sub = plugin.add_subparsers(dest="plugin_cmd", required=True)
    p = sub.add_parser("install", help="install or upgrade a plugin from a .zip archive or a folder")
    p.add_argument("source", help="the plugin .zip, or a folder named after the plugin")
    add_setting_flags(p)
    p = sub.add_parser("list", help="list installed plugins")
    p.add_argument("--all", action="store_true", help="also list inactive versions")
    add_setting_flags(p)
    p = sub.add_parser("uninstall", help="remove a plugin's files and deactivate it (its runs are kept)")
    p.add_argument("name")
    add_setting_flags(p)
    p = sub.add_parser("rescan", help="record plugin folders added or removed by hand")
    add_setting_flags(p)
    p = sub.add_parser("info", help="print a plugin's info as read from its files")
    p.add_argument("name")
    add_setting_flags(p)
    plugin.set_defaults(func=cmd_plugin)
    from torrentlite import cli_author

    cli_author.add_commands(sub, add_setting_flags)
