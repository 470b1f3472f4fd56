"""`torrentlite service install`: a systemd unit that runs the server under its own user."""
from __future__ import annotations

import getpass
import shlex
import sys
from pathlib import Path

from torrentlite.cli_common import CliError, add_setting_flags, settings_of

UNIT_PATH = Path("/etc/systemd/system/torrentlite.service")


def unit_text(settings, user: str, group: str, executable: str) -> str:
    command = [executable, "-m", "torrentlite", "serve", "--data-dir", str(settings.data_path),
               "--host", settings.host, "--port", str(settings.port)]
    return f"""[Unit]
Description=torrentlite: Torrent Suite's rundb API and plugins
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={user}
Group={group}
ExecStart={shlex.join(command)}
# SIGTERM lets the server finish its requests, leave plugin jobs to be re-attached and checkpoint the database.
KillSignal=SIGTERM
# Signal the server only: running plugin jobs carry on and the next start re-attaches them, as after
# any restart of torrentlite (the default would stop every job of the service with it).
KillMode=process
TimeoutStopSec=60
Restart=on-failure
RestartSec=5
UMask=0077
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=full
ReadWritePaths={settings.data_path}

[Install]
WantedBy=multi-user.target
"""


def cmd_service(args) -> int:
    settings = settings_of(args)
    user = args.user or getpass.getuser()
    text = unit_text(settings, user, args.group or user, args.python or sys.executable)
    if not args.write:
        print(text, end="")
        print(f"# save as {UNIT_PATH} (or run with --write as root), then: systemctl daemon-reload && "
              f"systemctl enable --now torrentlite", file=sys.stderr)
        return 0
    target = Path(args.output) if args.output else UNIT_PATH
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror} (run as root, or print the unit without --write)")
    print(f"wrote {target}; now run: systemctl daemon-reload && systemctl enable --now torrentlite")
    if not settings.db_path.exists():
        print(f"note: {settings.data_path} is not a data directory yet; create it as {user}: "
              f"sudo -u {user} {shlex.quote(args.python or sys.executable)} -m torrentlite init "
              f"--data-dir {settings.data_path}")
    return 0


def add_parser(subparsers) -> None:
    service = subparsers.add_parser("service", help="run torrentlite as a systemd service")
    sub = service.add_subparsers(dest="service_cmd", required=True)
    p = sub.add_parser("install", help="print (or with --write, write) a systemd unit for this data directory")
    p.add_argument("--user", help="the account the server runs as (default: the current user)")
    p.add_argument("--group", help="its group (default: same name as the user)")
    p.add_argument("--python", help="the Python that has torrentlite installed (default: this one)")
    p.add_argument("--write", action="store_true", help=f"write the unit to {UNIT_PATH} instead of printing it")
    p.add_argument("--output", help="with --write: write the unit to this file instead")
    add_setting_flags(p, ("data_dir", "host", "port"))
    p.set_defaults(func=cmd_service)


__all__ = ["unit_text", "add_parser"]
