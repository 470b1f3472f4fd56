"""`torrentlite backup|restore|check|status`: keeping a data directory safe and knowing how it is."""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from torrentlite import __version__
from torrentlite.cli_common import DATA, CliError, add_setting_flags, existing_data_dir, settings_of

MANIFEST = "backup.json"
DB_NAME = "torrentlite.sqlite3"
COPIED_FOLDERS = ("plugins", "results")


def _say(text: str, end: str = "\n") -> None:
    print(text, end=end, file=sys.stderr, flush=True)


def _progress(label: str):
    shown = {"pct": -1}

    def report(done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        if pct != shown["pct"]:
            shown["pct"] = pct
            _say(f"\r{label}: {pct}%", end="\n" if pct >= 100 else "")
    return report


def _copy_tree(source: Path, target: Path, label: str) -> int:
    """Copy a folder (symlinks as links), printing a count as it goes; returns files copied."""
    count = {"files": 0}

    def copy(src, dst, *, follow_symlinks=True):
        count["files"] += 1
        if count["files"] % 200 == 0:
            _say(f"\r{label}: {count['files']} files", end="")
        return shutil.copy2(src, dst, follow_symlinks=follow_symlinks)

    shutil.copytree(source, target, symlinks=True, copy_function=copy)
    _say(f"\r{label}: {count['files']} files")
    return count["files"]


def cmd_backup(args) -> int:
    from torrentlite.store.backup import BackupError, copy_database, verify_database

    settings = existing_data_dir(args)
    dest = Path(args.dest).expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CliError(f"{dest} exists and is not an empty folder; name a new folder for the backup")
    if dest == settings.data_path or settings.data_path in dest.parents:
        raise CliError("the backup cannot go inside the data directory it copies")
    dest.mkdir(parents=True, exist_ok=True)
    os.chmod(dest, 0o700)
    try:
        copy_database(settings.db_path, dest / DB_NAME, _progress("database"))
        version = verify_database(dest / DB_NAME)
    except BackupError as exc:
        raise CliError(str(exc))
    copied = []
    ini = settings.data_path / "torrentlite.ini"
    if ini.is_file():
        shutil.copy2(ini, dest / ini.name)
    for name, wanted in (("plugins", args.plugins or args.all), ("results", args.reports or args.all)):
        if wanted and (settings.data_path / name).is_dir():
            _copy_tree(settings.data_path / name, dest / name, name)
            copied.append(name)
    manifest = {"torrentlite": __version__, "schema_version": version, "created": time.time(),
                "data_dir": str(settings.data_path), "folders": copied}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    print(f"backup of {settings.data_path} written to {dest} (schema version {version}"
          f"{', with ' + ' and '.join(copied) if copied else ''})")
    return 0


def _server_lock(settings):
    from torrentlite.runner.ownership import SchedulerLock

    lock = SchedulerLock(settings.data_path)
    if not lock.acquire():
        raise CliError(f"a torrentlite server (pid {lock.owner_pid()}) runs on {settings.data_path}; "
                       f"stop it first (restore replaces the database under it)")
    return lock


def cmd_restore(args) -> int:
    from torrentlite.store.backup import BackupError, copy_database, verify_database
    from torrentlite.store.db import SCHEMA_VERSION, Store

    settings = settings_of(args)
    source = Path(args.source).expanduser().resolve()
    source_db = source / DB_NAME if source.is_dir() else source
    try:
        version = verify_database(source_db)
    except BackupError as exc:
        raise CliError(f"nothing restored: {exc}")
    manifest = {}
    if source.is_dir() and (source / MANIFEST).is_file():
        try:
            manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CliError(f"nothing restored: {source / MANIFEST} cannot be read ({exc})")
        if not isinstance(manifest, dict):
            raise CliError(f"nothing restored: {source / MANIFEST} is not a backup manifest")
    data = settings.data_path
    created = not data.exists()
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    lock = _server_lock(settings)
    try:
        staged = data / f"{DB_NAME}.restoring"
        staged.unlink(missing_ok=True)
        try:
            copy_database(source_db, staged, _progress("database"))
            verify_database(staged)
        except BackupError as exc:
            staged.unlink(missing_ok=True)
            raise CliError(f"nothing restored: {exc}")
        keep = data / time.strftime("pre-restore-%Y%m%d-%H%M%S")
        while keep.exists():  # two restores within one second
            keep = keep.with_name(keep.name + "-1")
        keep.mkdir()
        for suffix in ("", "-wal", "-shm"):
            if (data / (DB_NAME + suffix)).exists():
                os.replace(data / (DB_NAME + suffix), keep / (DB_NAME + suffix))
        folders = [f for f in COPIED_FOLDERS if source.is_dir() and (source / f).is_dir()]
        for name in folders:
            if (data / name).exists():
                os.replace(data / name, keep / name)
            _copy_tree(source / name, data / name, name)
        os.replace(staged, settings.db_path)
        store = Store(settings.db_path, settings.db_driver)
        try:
            store.migrate()
            old = manifest.get("data_dir")
            if old and old != str(data):  # report and plugin folders are recorded by absolute path
                with store.write() as db:
                    db.execute_sql('UPDATE "reportstorage" SET "dirPath" = replace("dirPath", ?, ?)', (old, str(data)))
                    db.execute_sql('UPDATE "plugin" SET "path" = replace("path", ?, ?)', (old, str(data)))
        finally:
            store.close()
        for sub in ("plugins", "results", "logs"):
            (data / sub).mkdir(exist_ok=True)
    finally:
        lock.release()
    kept = [p.name for p in keep.iterdir()]
    print(f"restored {source} into {data}{' (created)' if created else ''}: schema version {version}"
          f"{' migrated to ' + str(SCHEMA_VERSION) if version < SCHEMA_VERSION else ''}"
          f"{', with ' + ' and '.join(folders) if folders else ''}")
    if kept:
        print(f"the previous {', '.join(kept)} are kept in {keep}")
    else:
        keep.rmdir()
    return 0


def cmd_check(args) -> int:
    from torrentlite.health import check

    settings = existing_data_dir(args, allow_empty=True)
    if args.rebuild_indexes:
        from torrentlite.health import rebuild_search_indexes

        print(f"rebuilt {', '.join(rebuild_search_indexes(settings.db_path)) or 'no'} search indexes "
              f"and counted the rows again")
    findings = check(settings.data_path, settings.db_path)
    for finding in findings:
        if finding.level != "ok" or not args.quiet:
            print("\n".join(finding.lines()))
    problems = [f for f in findings if f.level == "problem"]
    warnings = [f for f in findings if f.level == "warning"]
    print(f"{settings.data_path}: {len(problems)} problem(s), {len(warnings)} warning(s)")
    return 1 if problems or (warnings and args.strict) else 0


def server_state(settings) -> dict | None:
    """The running server's state file, or None when no server runs on this data directory."""
    from torrentlite.runner.ownership import SchedulerLock
    from torrentlite.serving import STATE_FILE

    lock = SchedulerLock(settings.data_path)
    if lock.acquire():  # nobody holds it: no server (a stale state file is left from a crash)
        lock.release()
        return None
    try:
        state = json.loads((settings.data_path / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"pid": lock.owner_pid(), "url": None}
    return state if state.get("pid") == lock.owner_pid() else {"pid": lock.owner_pid(), "url": None}


def cmd_status(args) -> int:
    from torrentlite.serving import server_jobs
    from torrentlite.store.db import Store

    settings = existing_data_dir(args)
    state = server_state(settings)
    store = Store(settings.db_path, settings.db_driver)
    try:
        jobs = server_jobs(store)
    finally:
        store.close()
    out = {"data_dir": str(settings.data_path), "serving": bool(state and state.get("url")),
           "jobs_running": jobs["running"], "jobs_queued": jobs["queued"]}
    if state:
        out["pid"] = state["pid"]
    if state and state.get("url"):
        out.update(url=state["url"], version=state.get("version"),
                   uptime_seconds=int(time.time() - state.get("started", time.time())))
    if args.json:
        print(json.dumps(out, indent=2))
    elif out["serving"]:
        print(f"torrentlite {out['version']} serving {out['url']} (pid {out['pid']}, up "
              f"{_duration(out['uptime_seconds'])})")
    elif state:
        print(f"no server answers yet: pid {state['pid']} holds this directory (a server starting, or "
              f"`torrentlite plugin run` running jobs)")
    else:
        print(f"no torrentlite server runs on {settings.data_path}")
    if not args.json:
        print(f"plugin jobs: {jobs['running']} running, {jobs['queued']} queued")
    return 0 if out["serving"] else 3


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"


def add_parser(subparsers) -> None:
    """Add backup, restore, check, status and service to the top-level sub-parsers."""
    p = subparsers.add_parser("backup", help="copy the database (consistent while a server runs), optionally "
                              "with plugins and report folders, into a new folder")
    p.add_argument("dest", help="a new (or empty) folder for the backup")
    p.add_argument("--plugins", action="store_true", help="also copy the installed plugins")
    p.add_argument("--reports", action="store_true", help="also copy the report folders (results/)")
    p.add_argument("--all", action="store_true", help="same as --plugins --reports")
    add_setting_flags(p, DATA)
    p.set_defaults(func=cmd_backup)
    p = subparsers.add_parser("restore", help="replace the data directory's database (and folders) with a "
                              "backup, after checking it; the old copy is kept")
    p.add_argument("source", help="a folder written by `torrentlite backup`, or a database file")
    add_setting_flags(p, DATA)
    p.set_defaults(func=cmd_restore)
    p = subparsers.add_parser("check", help="check the database, schema version, folders, files and disk "
                              "space; exit status 1 when a problem is found")
    p.add_argument("--quiet", action="store_true", help="print only warnings and problems")
    p.add_argument("--strict", action="store_true", help="exit status 1 on warnings too")
    p.add_argument("--rebuild-indexes", action="store_true", help="first rebuild the search indexes and "
                   "the row counts from their tables (when check reports them out of step)")
    add_setting_flags(p, DATA)
    p.set_defaults(func=cmd_check)
    p = subparsers.add_parser("status", help="is a server running on this data directory; its URL, version, "
                              "uptime and plugin jobs (exit status 3 when none runs)")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    add_setting_flags(p, DATA)
    p.set_defaults(func=cmd_status)
    from torrentlite import cli_service

    cli_service.add_parser(subparsers)
