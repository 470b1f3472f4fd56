"""Every setting in one table: one name as flag, TORRENTLITE_<NAME> variable and config-file key."""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

CONFIG_FILE = "torrentlite.ini"
CONFIG_SECTION = "torrentlite"


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def _bool(text) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"expected a boolean (true/false/1/0), got {text!r}")


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "torrentlite")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = str
    choices: tuple = ()
    off_help: str = ""

    @property
    def env(self) -> str:
        return f"TORRENTLITE_{self.name.upper()}"

    @property
    def flag_help(self) -> str:
        """Help for the flag that flips a boolean setting away from its default."""
        return self.off_help if self.default and self.off_help else self.help

    @property
    def flag(self) -> str:
        if self.parse is _bool:
            return f"--{'no-' if self.default else ''}{self.name.replace('_', '-')}"
        return f"--{self.name.replace('_', '-')}"


def _positive_int(text) -> int:
    value = int(text)
    if value < 1:
        raise SettingsError(f"expected a positive integer, got {text!r}")
    return value


def _names(text) -> tuple:
    if isinstance(text, (list, tuple)):
        return tuple(str(n).strip().lower() for n in text if str(n).strip())
    return tuple(n.strip().lower() for n in str(text).split(",") if n.strip())


def _port(text) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise SettingsError(f"expected a TCP port number from 1 to 65535, got {text!r}")
    return value


def _positive_float(text) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"expected a number > 0, got {text!r}")
    return value


def _non_negative_float(text) -> float:
    value = float(text)
    if value < 0:
        raise SettingsError(f"expected a number >= 0, got {text!r}")
    return value


SETTINGS = (
    Setting("data_dir", None, "Folder for the database, plugins, results and logs "
            "(default: $XDG_DATA_HOME/torrentlite or ~/.local/share/torrentlite)."),
    Setting("host", "127.0.0.1", "Address to listen on."),
    Setting("port", 8080, "TCP port to listen on (1-65535).", _port),
    Setting("threads", 8, "Worker threads serving HTTP requests.", _positive_int),
    Setting("trust_loopback", True, "Log clients connecting from 127.0.0.1/::1 in as ionadmin without "
            "credentials, as Torrent Suite does. Anyone with a shell on this machine then has admin access "
            "to the API; turn it off on shared machines. Requests a browser sends for another site "
            "(foreign Origin, cross-site fetch, unknown Host name, form-type write bodies) never get it.", _bool,
            off_help="Require credentials (API key, password or plugin key) from local clients too, "
            "instead of logging clients on 127.0.0.1/::1 in as ionadmin. Use on machines other people "
            "can log in to."),
    Setting("allowed_hosts", (), "Extra names (comma-separated) this server is reached by, besides localhost, "
            "127.0.0.1, [::1], host, web_root's host, this machine's hostname and interface addresses. "
            "Requests naming another Host get no loopback trust (DNS rebinding).", _names),
    Setting("query_time_limit", 10.0, "Seconds one SQL statement of an API request may run before it is "
            "interrupted and the request answers 400 (a regex filter that backtracks, a huge scan); 0: no limit.",
            _non_negative_float),
    Setting("db_driver", "apsw", "SQLite driver: apsw or sqlite3.", str, ("apsw", "sqlite3")),
    Setting("log_level", "info", "Logging level: debug, info, warning or error.", str,
            ("debug", "info", "warning", "error")),
    Setting("max_upload_mb", 512.0, "Largest request body accepted, in MiB: plugin archives uploaded to "
            "plugin/install/ (multipart or zip). Larger requests get 413 before their body is read.",
            _positive_float),
    Setting("max_json_body_mb", 16.0, "Largest JSON or form request body accepted, in MiB (413 above).",
            _positive_float),
    Setting("log_max_mb", 10.0, "Size in MiB at which logs/torrentlite.log is rotated (5 old files kept).",
            _positive_float),
    Setting("web_root", "", "Public base URL of this server given to plugins as net_location "
            "(default: http://<host>:<port>)."),
    Setting("plugin_slots", 2, "Plugin jobs that may run at once. Torrent Suite's plugin queue has one "
            "or two slots per host; two keeps one core free for the API on a 2-core PC.", _positive_int),
    Setting("plugin_memory_floor_mb", 512, "Do not start a plugin job while less memory than this is "
            "available.", _non_negative_float),
    Setting("plugin_wall_limit", 86400.0, "Seconds a plugin job may run before it is stopped as Timed Out "
            "(Torrent Suite: 24 h).", _non_negative_float),
    Setting("plugin_memory_limit_mb", 0.0, "Address-space limit per plugin job in MiB (0: none).",
            _non_negative_float),
    Setting("plugin_nice", 10, "Scheduling niceness of plugin jobs.", int),
    Setting("python2", "", "Python 2.7 interpreter from which `torrentlite plugin-env build` makes the "
            "environment Python 2 plugins run in (default: python2.7 or python2 on PATH, else a pyenv 2.7)."),
    Setting("dm_check_interval", 60.0, "Seconds between checks of the automatic data-management actions "
            "(Torrent Suite: 60).", _non_negative_float),
    Setting("executor", "local", "Where plugin jobs run: local (subprocesses of this server) or drmaa (a Grid "
            "Engine cluster, through DRMAA; needs the 'drmaa' extra). With drmaa, plugin_slots is how many jobs "
            "are handed to the cluster at once.", str, ("local", "drmaa")),
    Setting("drmaa_queue", "", "Grid Engine queue for plugin jobs (-q; empty: the cluster's choice)."),
    Setting("drmaa_slots", 1, "Slots per plugin job; above 1 the job asks for a parallel environment "
            "(-pe <drmaa_parallel_env> N).", _positive_int),
    Setting("drmaa_parallel_env", "smp", "Parallel environment used when drmaa_slots is above 1."),
    Setting("drmaa_native_spec", "", "Further qsub options for every plugin job, e.g. \"-l h_vmem=8G -P plugins\". "
            "plugin_wall_limit and plugin_memory_limit_mb already become -l s_rt/h_rt and h_vmem."),
    Setting("drmaa_library", "", "Path of libdrmaa.so.1.0 (default: $DRMAA_LIBRARY_PATH, else Debian's "
            "/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0)."),
    Setting("sge_root", "", "Grid Engine installation (default: $SGE_ROOT, else /var/lib/gridengine)."),
    Setting("sge_cell", "", "Grid Engine cell (default: $SGE_CELL, else default)."),
    Setting("drmaa_lost_after", 300.0, "Seconds a running job may go without an answer from Grid Engine "
            "before it is recorded as Error.", _non_negative_float),
    Setting("demo_plugins", True, "When --demo loads the demo runs, also install the demo plugins their plans "
            "select and run them once, so the reports show plugin results from the start.", _bool),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


class Settings(dict):
    """Resolved settings (attribute access), with the source each value came from."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def data_path(self) -> Path:
        return Path(self["data_dir"]).expanduser().resolve()

    @property
    def db_path(self) -> Path:
        return self.data_path / "torrentlite.sqlite3"

    @property
    def plugins_path(self) -> Path:
        return self.data_path / "plugins"

    @property
    def results_path(self) -> Path:
        return self.data_path / "results"

    @property
    def logs_path(self) -> Path:
        return self.data_path / "logs"

    @property
    def net_location(self) -> str:
        if self["web_root"]:
            return self["web_root"].rstrip("/")
        host = "127.0.0.1" if self["host"] in ("0.0.0.0", "::", "") else self["host"]
        return f"http://{host}:{self['port']}"


def _parse(setting: Setting, raw, source: str):
    try:
        value = setting.parse(raw)
    except (SettingsError, ValueError) as exc:
        raise SettingsError(f"{setting.name} (from {source}): {exc}") from None
    if setting.choices and value not in setting.choices:
        raise SettingsError(f"{setting.name} (from {source}): {value!r} is not one of {', '.join(setting.choices)}")
    return value


def resolve(flags: Optional[Mapping[str, Any]] = None, environ: Optional[Mapping[str, str]] = None,
            config_path: Optional[Path] = None) -> Settings:
    """Defaults < config file (<data_dir>/torrentlite.ini) < environment < flags."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    values["data_dir"] = _default_data_dir()
    data_dir = flags.get("data_dir") or environ.get("TORRENTLITE_DATA_DIR") or values["data_dir"]
    path = config_path or Path(data_dir).expanduser() / CONFIG_FILE
    if path.exists():
        parser = configparser.ConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as exc:
            raise SettingsError(f"cannot read {path}: {exc}") from None
        if parser.has_section(CONFIG_SECTION):
            for key, raw in parser.items(CONFIG_SECTION):
                if key not in SETTINGS_BY_NAME:
                    raise SettingsError(f"{path}: unknown setting {key!r}")
                values[key] = _parse(SETTINGS_BY_NAME[key], raw, str(path))
    for setting in SETTINGS:
        if setting.env in environ:
            values[setting.name] = _parse(setting, environ[setting.env], setting.env)
    for name, raw in flags.items():
        if name in SETTINGS_BY_NAME:
            values[name] = _parse(SETTINGS_BY_NAME[name], raw, f"--{name.replace('_', '-')}")
    values["data_dir"] = values["data_dir"] or data_dir
    return Settings(values)


def help_text() -> str:
    lines = ["Settings (flag / environment variable / key in <data_dir>/torrentlite.ini [torrentlite]):", ""]
    for s in SETTINGS:
        default = "(see help)" if s.default is None else s.default
        lines.append(f"  {s.name}\n      {s.flag}  {s.env}  default: {default}\n      {s.help}")
    return "\n".join(lines)
