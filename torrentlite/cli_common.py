"""What every `torrentlite` subcommand shares: its own setting flags, the data directory check, errors."""
from __future__ import annotations

import argparse
import sys

from torrentlite.settings import SETTINGS, SETTINGS_BY_NAME, Settings, resolve

# The settings a command that only opens the database needs.
DATA = ("data_dir", "db_driver")
# What running plugin jobs in this process needs on top of that.
PLUGIN_JOBS = DATA + ("host", "port", "web_root", "log_level", "plugin_slots", "plugin_memory_floor_mb",
                      "plugin_wall_limit", "plugin_memory_limit_mb", "plugin_nice", "executor", "drmaa_queue",
                      "drmaa_slots", "drmaa_parallel_env", "drmaa_native_spec", "drmaa_library", "sge_root",
                      "sge_cell", "drmaa_lost_after")
ALL = tuple(s.name for s in SETTINGS)


class CliError(Exception):
    """A user-facing failure: printed without a traceback, exit status 2."""


def row_id(text: str) -> int:
    """argparse type: a primary key (a positive integer SQLite can hold)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a row id (a positive integer), got {text!r}") from None
    if not 1 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"no row has the id {text}")
    return value


def add_setting_flags(parser: argparse.ArgumentParser, names=DATA) -> None:
    """Add a flag for each setting in `names` (the ones this command uses)."""
    group = parser.add_argument_group("settings (also from TORRENTLITE_* variables and torrentlite.ini; "
                                      "`torrentlite serve --help-settings` lists them all)")
    for name in names:
        s = SETTINGS_BY_NAME[name]
        if s.parse.__name__ == "_bool":
            group.add_argument(s.flag, dest=s.name, action="store_const", const=not s.default, default=None,
                               help=s.flag_help)
        else:
            group.add_argument(s.flag, dest=s.name, default=None, metavar=s.name.upper(), help=s.help)


def settings_of(args) -> Settings:
    return resolve({s.name: getattr(args, s.name, None) for s in SETTINGS})


def existing_data_dir(args, allow_empty: bool = False) -> Settings:
    """The settings of a data directory that exists; CliError otherwise (only serve and init make one)."""
    settings = settings_of(args)
    if not settings.db_path.is_file():
        raise CliError(f"{settings.data_path} is not a torrentlite data directory (it has no "
                       f"{settings.db_path.name}). Check --data-dir, or create one with "
                       f"`torrentlite init --data-dir {settings.data_path}`.")
    if settings.db_path.stat().st_size == 0 and not allow_empty:
        raise CliError(f"{settings.db_path} is empty: the database was lost. `torrentlite restore` brings back "
                       f"a backup; `torrentlite init` starts a new, empty instance.")
    return settings


def read_password(prompt: str, given) -> str:
    """`given`, else typed at a terminal (twice), else the first line of standard input."""
    if given is not None:
        return given
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise CliError("the two passwords differ; nothing changed")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("no password given: pass --password, or send it on standard input "
                       "(e.g. `printf '%s\\n' \"$PW\" | torrentlite user ...`)")
    return password
