"""`torrentlite plugin-env build|status|remove`: the Python 2.7 environment that Python 2 plugins run in."""
from __future__ import annotations

import json
import sys


def cmd_plugin_env(args) -> int:
    from torrentlite.cli_common import existing_data_dir
    from torrentlite.runner import legacy_env

    settings = existing_data_dir(args)
    data = settings.data_path
    if args.action == "status":
        doc = legacy_env.describe(data)
        if doc is None:
            print(f"no Python 2.7 plugin environment in {legacy_env.env_dir(data)}: Python 2 plugins fail at "
                  f"launch; {legacy_env.ENABLE_HINT}")
            return 1
        print(json.dumps(dict(doc, path=str(legacy_env.env_dir(data))), indent=2))
        return 0
    if args.action == "remove":
        removed = legacy_env.remove(data)
        print("removed the Python 2.7 plugin environment" if removed else "there was no plugin environment")
        return 0
    try:
        python2 = legacy_env.find_python2(settings.python2)
        print(f"building the Python 2.7 plugin environment from {python2} (packages: "
              f"{', '.join(legacy_env.PACKAGES)})")
        legacy_env.build(data, python2, log=print if args.verbose else (lambda _line: None))
    except legacy_env.LegacyEnvError as exc:
        print(f"torrentlite: {exc}", file=sys.stderr)
        return 1
    print(f"ready: Python 2 plugins now run with {legacy_env.legacy_python(data)}")
    return 0


def add_parser(sub, add_setting_flags) -> None:
    """Register the ``plugin-env`` subcommand on ``sub``."""
    parser = sub.add_parser("plugin-env", help="build or inspect the Python 2.7 environment for Python 2 plugins",
                            description="Python 2 plugins (most written for Torrent Suite 5.x) run with the "
                                        "Python 2.7 environment built here under the data directory, from the "
                                        "interpreter the python2 setting names or one found on this machine.")
    parser.add_argument("action", choices=("build", "status", "remove"),
                        help="build (or rebuild) it, show what it holds, or delete it")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each step's command")
    add_setting_flags(parser, ("data_dir", "db_driver", "python2"))
    parser.set_defaults(func=cmd_plugin_env)


__all__ = ["add_parser", "cmd_plugin_env"]
