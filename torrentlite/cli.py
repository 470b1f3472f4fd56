"""The `torrentlite` command: serve (default), init, user, and one-request checks."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional, Sequence

from torrentlite import __version__
from torrentlite.cli_common import (ALL, DATA, CliError, add_setting_flags, existing_data_dir, read_password,
                                    settings_of)
from torrentlite.settings import Settings, SettingsError, help_text

log = logging.getLogger("torrentlite")


# True when main() reads the real command line, so the process may re-execute itself with it.
_FROM_COMMAND_LINE = False


def ensure_drmaa_loadable(settings: Settings) -> None:
    """Restart this command with the glibc tunable libdrmaa needs when it is not set (executor drmaa).

    glibc reads the tunable only when a process starts, so it cannot be set from within.
    """
    if settings.get("executor") != "drmaa" or not _FROM_COMMAND_LINE or os.environ.get("TORRENTLITE_REEXEC"):
        return
    from torrentlite.runner.gridengine import has_tls_tunable, with_tls_tunable

    if has_tls_tunable(os.environ):
        return
    env = with_tls_tunable(os.environ)
    env["TORRENTLITE_REEXEC"] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "torrentlite", *sys.argv[1:]], env)


def _settings(args) -> Settings:
    return settings_of(args)


def _open(settings: Settings, demo: bool = False):
    from torrentlite.app import build_app
    from torrentlite.setup_data import initialize, launch_demo_plugins

    app = build_app(settings)
    report = initialize(settings, app.store, demo_data=demo)
    if report.loaded_demo and settings.demo_plugins and app.scheduler is not None:
        # The demo reports show plugin results from the start: their jobs run as soon as a server does.
        launch_demo_plugins(app.store, app.scheduler)
    return app, report


def cmd_serve(args) -> int:
    if args.help_settings:
        print(help_text())
        return 0
    settings = _settings(args)
    new_dir = not settings.db_path.exists()
    if not args.get:
        ensure_drmaa_loadable(settings)
        from torrentlite.serving import check_port_free

        try:  # before a new data directory is made for a server that could not start
            check_port_free(settings.host, settings.port)
        except OSError as exc:
            raise CliError(f"cannot serve on {settings.host}:{settings.port}: {exc.strerror or exc}")
    from torrentlite.logs import setup_logging

    setup_logging(settings, console=not args.get)
    app, report = _open(settings, demo=args.demo)
    from torrentlite.store.users import Users

    users = Users(app.store)
    new_key = None if users.has_api_key("ionadmin") else users.api_key("ionadmin")
    if args.get:
        if new_dir:
            print(f"torrentlite: created a new data directory at {settings.data_path}", file=sys.stderr)
        try:
            return _one_request(app, args.get)
        finally:
            app.close()
    from torrentlite.app import StartupError
    from torrentlite.serving import Server

    try:
        app.start()
        server = Server(app)  # binds now, so a port in use is reported before anything is announced
    except (StartupError, OSError) as exc:
        app.close()
        raise CliError(f"cannot serve on {settings.host}:{settings.port}: {exc}"
                       if isinstance(exc, OSError) else str(exc))
    first_password = users.first_admin_password()
    url = f"http://{settings.host}:{settings.port}/rundb/api/v1/"
    print(f"torrentlite {__version__} — data in {settings.data_path}")
    if new_dir:
        print(f"  created a new data directory at {settings.data_path}")
    if report.loaded_reference:
        print(f"  created the database and loaded {report.loaded_reference} reference rows")
    if report.loaded_demo:
        print(f"  loaded the demo runs ({report.loaded_demo} rows)")
    print(f"  serving {url}")
    print(f"  plugin jobs: {app.check_executor()}")
    print(f"  pages: http://{settings.host}:{settings.port}/runs")
    if first_password:
        print(f"  sign in as ionadmin with the password {first_password} (shown once; change it with "
              f"`torrentlite user passwd ionadmin`)")
    # The key is shown once, by the start that creates it; later starts say where to get it, so
    # output kept by a service manager holds it at most once.
    if new_key:
        print(f"  ionadmin API key: {new_key} (shown once; `torrentlite user key ionadmin` prints it again)")
        print(f'  try: curl -H "Authorization: ApiKey ionadmin:{new_key}" "{url}results/?limit=5"')
    else:
        print("  ionadmin API key: run `torrentlite user key ionadmin`")
    sys.stdout.flush()
    server.serve()
    return 0


def _one_request(app, path: str) -> int:
    """Answer one GET through the WSGI app without a socket (for smoke checks and scripts)."""
    from io import BytesIO
    from urllib.parse import urlsplit

    parts = urlsplit(path)
    status_holder = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1",
               "wsgi.input": BytesIO(), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
               "SERVER_PROTOCOL": "HTTP/1.1"}

    def start_response(status, headers, exc_info=None):
        status_holder["status"] = status

    body = b"".join(app.wsgi(environ, start_response))
    sys.stdout.write(body.decode("utf-8") + "\n")
    return 0 if status_holder.get("status", "").startswith("200") else 1


def cmd_init(args) -> int:
    settings = _settings(args)
    app, report = _open(settings, demo=args.demo)
    print(f"data directory {settings.data_path} ready "
          f"({report.loaded_reference} reference rows, {report.loaded_demo} demo rows loaded now)")
    app.close()
    return 0


def cmd_user(args) -> int:
    from torrentlite.store.users import UserError, Users

    settings = existing_data_dir(args)
    app, _ = _open(settings)
    users = Users(app.store)
    try:
        if args.user_cmd == "key":
            print(users.api_key(args.username))
        elif args.user_cmd == "create":
            password = None if args.no_password else read_password(f"password for {args.username}: ",
                                                                     args.password)
            users.create(args.username, password or None, superuser=args.superuser, email=args.email or "")
            print(f"created user {args.username}")
        elif args.user_cmd == "list":
            for user in users.list():
                flags = ",".join(f for f, on in (("superuser", user.is_superuser), ("inactive", not user.is_active))
                                 if on)
                print(f"{user.id}\t{user.username}\t{flags}\t{len(user.permissions)} permissions")
        elif args.user_cmd == "passwd":
            password = read_password(f"new password for {args.username}: ", args.password)
            users.set_password(args.username, password)
            print(f"password of {args.username} changed")
        elif args.user_cmd == "grant":
            users.grant(args.username, args.permissions)
            print(f"granted {', '.join(args.permissions)} to {args.username}")
        elif args.user_cmd in ("activate", "deactivate"):
            users.set_active(args.username, args.user_cmd == "activate")
            print(f"{args.username} {args.user_cmd}d")
    except UserError as exc:
        raise CliError(str(exc))
    finally:
        app.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="torrentlite", description="Torrent Suite's rundb API and plugin "
                                     "framework for one box.")
    parser.add_argument("--version", action="version", version=f"torrentlite {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="create the data directory if needed and serve the API")
    serve.add_argument("--demo", action="store_true", help="also load the demo runs (first start only)")
    serve.add_argument("--help-settings", action="store_true", help="list every setting and exit")
    serve.add_argument("--get", metavar="PATH", help="answer one GET request for PATH and exit")
    add_setting_flags(serve, ALL)
    serve.set_defaults(func=cmd_serve)

    init = sub.add_parser("init", help="create the data directory, database and reference data")
    init.add_argument("--demo", action="store_true", help="also load the demo runs")
    add_setting_flags(init, DATA + ("demo_plugins",))
    init.set_defaults(func=cmd_init)

    user = sub.add_parser("user", help="manage users and API keys")
    user_sub = user.add_subparsers(dest="user_cmd", required=True)
    for name, text in (("key", "print a user's API key, creating it if needed"), ("list", "list users"),
                       ("create", "create a user"), ("passwd", "set a user's password"),
                       ("grant", "grant model permissions (add_<table>, change_<table>, delete_<table>)"),
                       ("activate", "allow a user to log in"), ("deactivate", "stop a user from logging in")):
        p = user_sub.add_parser(name, help=text)
        if name != "list":
            p.add_argument("username")
        if name == "create":
            p.add_argument("--password", help="the password (default: asked at the terminal, or read "
                           "from the first line of standard input)")
            p.add_argument("--no-password", action="store_true", help="API key access only")
            p.add_argument("--superuser", action="store_true")
            p.add_argument("--email")
        if name == "passwd":
            p.add_argument("--password", help="the new password (default: asked at the terminal, or read "
                           "from the first line of standard input)")
        if name == "grant":
            p.add_argument("permissions", nargs="+")
        add_setting_flags(p, DATA)
    user.set_defaults(func=cmd_user)
    from torrentlite import cli_plugin
    cli_plugin.add_parser(sub, add_setting_flags)
    from torrentlite import cli_run

    cli_run.add_parser(sub, add_setting_flags)
    from torrentlite import cli_ops

    cli_ops.add_parser(sub)
    from torrentlite import cli_pluginenv

    cli_pluginenv.add_parser(sub, add_setting_flags)
    from torrentlite import cli_dm

    cli_dm.add_parser(sub, add_setting_flags)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    global _FROM_COMMAND_LINE
    _FROM_COMMAND_LINE = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["serve"] + argv
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CliError, SettingsError) as exc:
        print(f"torrentlite: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"torrentlite: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from torrentlite.store.db import database_problem

        problem = database_problem(exc)
        if problem is None:
            raise
        print(f"torrentlite: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
