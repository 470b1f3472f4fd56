"""`torrentlite dm ...`: data management from the shell (list, archive, export, delete, keep, auto, config)."""
from __future__ import annotations

import sys
import time

from torrentlite.cli_common import CliError, existing_data_dir

ACTIONS = ("archive", "export", "delete")


class DmCliError(Exception):
    """A refused data-management command: printed without a traceback, exit status 2."""


def _open(args):
    from torrentlite.setup_data import initialize
    from torrentlite.store.db import Store

    settings = existing_data_dir(args)
    store = Store(settings.db_path, settings.db_driver)
    initialize(settings, store)
    return settings, store


def _report_id(store, text: str) -> int:
    if str(text).isdigit():
        row = store.db.execute_sql('SELECT "id" FROM "results" WHERE "id" = ?', (int(text),)).fetchone()
    else:
        row = store.db.execute_sql('SELECT "id" FROM "results" WHERE "resultsName" = ?', (text,)).fetchone()
    if row is None:
        raise DmCliError(f"no report {text}")
    return row[0]


def progress_bar(done: int, total: int, out=sys.stderr, width: int = 30) -> None:
    """One redrawn line: [#####-----]  45%  12.3/27.0 MB."""
    frac = done / total if total else 1.0
    filled = int(width * frac)
    out.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {frac * 100:5.1f}%  "
              f"{done / 1048576:.1f}/{total / 1048576:.1f} MB")
    out.flush()


def _run_or_wait(settings, store, queued) -> int:
    """Run the queued actions here when no server owns the data directory, else wait for the server."""
    from torrentlite.datamgmt import actions
    from torrentlite.runner.ownership import SchedulerLock

    lock = SchedulerLock(settings.data_path)
    failed = 0
    if lock.acquire():
        try:
            if actions.resume_unfinished(store):
                print("finished actions a crash had interrupted")
            for action in queued:
                done = actions.run_pending(store, progress_bar, only=action.id)
                sys.stderr.write("\n")
                failed += _report(store, action.id) if done else 0
        finally:
            lock.release()
        return failed
    print(f"a torrentlite server (pid {lock.owner_pid()}) runs this data directory's actions; waiting for it")
    for action in queued:
        while True:
            now = actions.actions(store.db, 'WHERE a."id" = ?', (action.id,))[0]
            progress_bar(now.done_bytes, now.total_bytes)
            if now.phase in ("done", "error", "cancelled"):
                break
            time.sleep(0.5)
        sys.stderr.write("\n")
        failed += _report(store, action.id)
    return failed


def _report(store, action_id: int) -> int:
    from torrentlite.datamgmt import actions

    done = actions.actions(store.db, 'WHERE a."id" = ?', (action_id,))[0]
    if done.phase == "done":
        where = f" to {done.destination}" if done.destination and done.action != "delete" else ""
        print(f"{done.action} finished{where}: {done.done_bytes / 1048576:.1f} MB")
        return 0
    print(f"{done.action} failed: {done.error or done.phase}", file=sys.stderr)
    return 1


def _list(store, report_id=None) -> None:
    from torrentlite.datamgmt import state
    from torrentlite.datamgmt.filesets import PREFIX

    ids = [report_id] if report_id else [r[0] for r in store.db.execute_sql(
        'SELECT "id" FROM "results" ORDER BY "id"').fetchall()]
    stats = state.filestats_for(store.db, ids)
    for pk in ids:
        report = state.load_report(store.db, pk)
        cells = []
        for type_, stat in stats.get(pk, {}).items():
            size = "?" if stat.diskspace is None else f"{stat.diskspace:.1f}MB"
            keep = ",keep" if state.is_kept(store.db, stat, report) else ""
            cells.append(f"{PREFIX[type_]}={stat.display}({size}{keep})")
        print(f"{pk}\t{report.name}\t" + "  ".join(cells))


def _run(args) -> int:
    from torrentlite.datamgmt import actions, auto, state
    from torrentlite.datamgmt.validate import DmRefused

    settings, store = _open(args)
    try:
        cmd = args.dm_cmd
        if cmd == "list":
            report_id = _report_id(store, args.report) if args.report else None
            if report_id:
                state.measure(store, report_id)
            _list(store, report_id)
            return 0
        if cmd in ACTIONS:
            pk = _report_id(store, args.report)
            types = [actions.category(c) for c in args.category]
            kwargs = dict(user=args.user, comment=args.comment or "", destination=getattr(args, "dest", None) or "",
                          confirmed=args.yes)
            for type_ in types:
                actions.request(store, pk, type_, cmd, check_only=True, **kwargs)
            queued = [actions.request(store, pk, type_, cmd, **kwargs) for type_ in types]
            return 1 if _run_or_wait(settings, store, queued) else 0
        if cmd == "keep":
            pk = _report_id(store, args.report)
            with store.write():
                report = state.load_report(store.db, pk)
                stats = state.filestats(store.db, pk)
                for name in args.category:
                    stat = stats.get(actions.category(name))
                    if stat is None:
                        raise DmCliError(f"{report.name} has no {name} files on record")
                    if stat.action_state in state.DISPOSED:
                        raise DmCliError(f"{stat.type} of {report.name} is {stat.display}")
                    state.set_keep(store.db, report, stat, not args.off, args.user)
            print(("no longer kept: " if args.off else "kept: ") + ", ".join(args.category))
            return 0
        if cmd == "auto":
            enabled, _ack = auto.switches(store.db)
            plan = auto.plan(store)
            for item in plan:
                print(f"{item.action}\t{item.type}\t{item.result_id}\t{item.results_name}\t{item.reason}")
            if not plan:
                print("nothing to do now")
            if args.dry_run:
                return 0
            if not enabled:
                raise DmCliError("automatic actions are disabled: enable them with `torrentlite dm config --enable`")
            return 1 if _run_or_wait(settings, store, auto.apply(store)) else 0
        if cmd == "config":
            if args.category:
                auto.configure(store, actions.category(args.category), auto_action=args.action, age=args.age,
                               usage=args.usage, backup_directory=args.backup, user=args.user)
            if args.enable or args.disable:
                auto.set_enabled(store, bool(args.enable))
            enabled, ack = auto.switches(store.db)
            print(f"automatic actions {'enabled' if enabled else 'disabled'}"
                  f"{', raw-data deletes acknowledged automatically' if ack else ''}")
            from torrentlite.datamgmt.filesets import current_filesets

            for fs in current_filesets(store.db).values():
                print(f"{fs.prefix}\t{fs.auto_action}\tage {fs.auto_trigger_age} d\tusage {fs.auto_trigger_usage} %"
                      f"\tbackup {fs.backup_directory or '-'}")
            return 0
        if cmd == "download":
            from torrentlite.datamgmt import filemonitor

            return filemonitor.cli_download(store, settings, args)
    except DmRefused as exc:
        raise DmCliError(str(exc).strip())
    finally:
        store.close()
    return 0


def add_parser(sub, add_setting_flags) -> None:
    dm = sub.add_parser("dm", help="data management: disk usage, archive, export, delete, keep, automatic actions")
    dm_sub = dm.add_subparsers(dest="dm_cmd", required=True)
    p = dm_sub.add_parser("list", help="each report's categories: state, size, keep")
    p.add_argument("report", nargs="?")
    add_setting_flags(p)
    for name, text in (("archive", "move a category's files to the archive folder"),
                       ("export", "copy a category's files to a folder"),
                       ("delete", "delete a category's files")):
        p = dm_sub.add_parser(name, help=text)
        p.add_argument("report", help="report id or name")
        p.add_argument("--category", "-c", action="append", required=True,
                       help="sigproc, basecall, output or misc (repeatable)")
        if name != "delete":
            p.add_argument("--dest", help="destination folder (default: the category's backup directory)")
        p.add_argument("--comment", default="")
        p.add_argument("--yes", action="store_true", help="archive even when the category is marked Keep")
        p.add_argument("--user", default="ionadmin", help="recorded in the history")
        add_setting_flags(p)
    p = dm_sub.add_parser("keep", help="exempt a category from automatic actions (--off: no longer)")
    p.add_argument("report")
    p.add_argument("--category", "-c", action="append", required=True)
    p.add_argument("--off", action="store_true")
    p.add_argument("--user", default="ionadmin")
    add_setting_flags(p)
    p = dm_sub.add_parser("auto", help="run the automatic-action check now (--dry-run: only show it)")
    p.add_argument("--dry-run", action="store_true")
    add_setting_flags(p)
    p = dm_sub.add_parser("config", help="show or change automatic-action settings")
    p.add_argument("--category", "-c")
    p.add_argument("--action", choices=("OFF", "ARC", "DEL"))
    p.add_argument("--age", type=int, help="age threshold in days")
    p.add_argument("--usage", type=int, help="disk-usage threshold in %% of the report storage's partition")
    p.add_argument("--backup", help="archive folder of the category")
    p.add_argument("--enable", action="store_true")
    p.add_argument("--disable", action="store_true")
    p.add_argument("--user", default="ionadmin")
    add_setting_flags(p)
    p = dm_sub.add_parser("download", help="download a file by URL, tracked in filemonitor/")
    p.add_argument("url")
    p.add_argument("--dest", help="folder to put it in (default: <data dir>/downloads)")
    p.add_argument("--md5", help="expected MD5 of the file")
    p.add_argument("--tags", default="", help="what the file is for (reference, bedfile, ...)")
    add_setting_flags(p)
    dm.set_defaults(func=_main)


def _main(args) -> int:
    try:
        return _run(args)
    except (DmCliError, ValueError) as exc:
        raise CliError(str(exc))
