"""Data-management endpoints below compositedatamanagement/: actions, keep, progress, automatic rules."""
from __future__ import annotations

import os

from torrentlite.api.errors import ApiError, bad_request
from torrentlite.api.http import Api, Call, Response
from torrentlite.datamgmt import actions, auto, state
from torrentlite.datamgmt.filesets import PREFIX, SIG, current_filesets
from torrentlite.datamgmt.validate import DmRefused


def _refused(exc: DmRefused) -> ApiError:
    if exc.warning:
        return ApiError(200, {"warning": str(exc)})
    if exc.status == 404:
        return ApiError(404, {"error": str(exc)})
    return ApiError(exc.status, {"error": str(exc)})


def _body(call: Call) -> dict:
    body = call.json()
    if not isinstance(body, dict):
        raise bad_request("Expected a JSON object")
    return body


def _categories(body: dict) -> list[str]:
    names = body.get("categories")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names:
        raise bad_request("categories: give a list of categories (sigproc, basecall, output, misc)")
    try:
        return list(dict.fromkeys(actions.category(n) for n in names))
    except DmRefused as exc:
        raise _refused(exc)


def progress_view(action: actions.Action) -> dict:
    out = action.as_dict()
    total = action.total_bytes
    out["percent"] = round(100.0 * action.done_bytes / total, 1) if total else (100.0 if action.phase == "done"
                                                                                 else 0.0)
    return out


def fileset_view(fs) -> dict:
    return {"type": fs.type, "description": fs.description, "auto_action": fs.auto_action,
            "auto_trigger_age": fs.auto_trigger_age, "auto_trigger_usage": fs.auto_trigger_usage,
            "backup_directory": fs.backup_directory or None, "del_empty_dir": fs.del_empty_dir,
            "include": list(fs.include), "exclude": list(fs.exclude), "keepwith": fs.keepwith}


def register(api: Api, worker) -> None:
    """Register the endpoints; queued actions wake `worker` (the server's data-management thread)."""

    def require(call: Call, superuser: bool = False) -> None:
        if not call.user.can("change", "results") or (superuser and not call.user.is_superuser):
            raise ApiError(401)

    @api.endpoint("compositedatamanagement", r"(?P<pk>\d+)/(?P<action>archive|export|delete)/", ("POST",))
    def act(call: Call) -> Response:
        require(call)
        body = _body(call)
        types = _categories(body)
        pk, action = int(call.match["pk"]), call.match["action"]
        backup, comment = body.get("backup_dir") or "", body.get("comment") or ""
        if not isinstance(backup, str) or not isinstance(comment, str):
            raise bad_request("backup_dir and comment must be text")
        if backup == "default":
            backup = ""
        confirmed = body.get("confirmed") in (True, "true", "True", 1)
        kwargs = dict(user=call.user.username, comment=comment, destination=backup, confirmed=confirmed)
        try:
            # All categories are checked before any is queued, so a refusal changes nothing.
            for type_ in types:
                actions.request(api.store, pk, type_, action, check_only=True, **kwargs)
            queued = [actions.request(api.store, pk, type_, action, **kwargs) for type_ in types]
        except DmRefused as exc:
            raise _refused(exc)
        worker.wake()
        return Response(202, {"pks": str(pk), "action": action, "data": body,
                              "actions": [progress_view(a) for a in queued]})

    @api.endpoint("compositedatamanagement", r"(?P<pk>\d+)/keep/", ("POST",))
    def keep(call: Call) -> Response:
        require(call)
        body = _body(call)
        types = _categories(body)
        if not isinstance(body.get("keep"), bool):
            raise bad_request("keep: true or false")
        pk = int(call.match["pk"])
        with api.store.write():
            report = state.load_report(api.store.db, pk)
            if report is None:
                raise ApiError(404)
            stats = state.filestats(api.store.db, pk)
            for type_ in types:
                if stats.get(type_) is None or stats[type_].action_state in state.DISPOSED:
                    raise ApiError(409, {"error": f"{type_} of {report.name} is archived or deleted"})
            for type_ in types:
                state.set_keep(api.store.db, report, stats[type_], body["keep"], call.user.username)
        return Response(200, {"reportPK": pk, "types": types, "keep": body["keep"]})

    @api.endpoint("compositedatamanagement", r"(?P<pk>\d+)/cancel/", ("POST",))
    def cancel(call: Call) -> Response:
        require(call)
        types = _categories(_body(call))
        done = [t for t in types if actions.cancel(api.store, int(call.match["pk"]), t, call.user.username)]
        if not done:
            raise ApiError(409, {"error": "nothing pending to cancel"})
        return Response(200, {"cancelled": done})

    @api.endpoint("compositedatamanagement", r"(?P<pk>\d+)/ack/", ("POST",))
    def ack(call: Call) -> Response:
        require(call)
        runstate = _body(call).get("runstate")
        if runstate not in ("A", "S"):
            raise bad_request("runstate: A (acknowledge deletion) or S (remove the acknowledgement)")
        pk = int(call.match["pk"])
        with api.store.write():
            report = state.load_report(api.store.db, pk)
            stat = state.filestats(api.store.db, pk).get(SIG) if report else None
            if stat is None:
                raise ApiError(404)
            if stat.action_state not in ("S", "N", "A"):
                raise ApiError(409, {"error": f"{SIG} of {report.name} is not selected for deletion"})
            state.set_state(api.store.db, stat, report, runstate)
            text = ("Signal Processing Input deletion is Acknowledged" if runstate == "A"
                    else "Signal Processing Input deletion  Acknowledgement is removed")
            state.log_event(api.store.db, pk, text, call.user.username)
        return Response(200, {"runState": runstate, "runPK": pk})

    @api.endpoint("compositedatamanagement", r"(?P<pk>\d+)/actions/", ("GET",))
    def progress(call: Call) -> Response:
        found = actions.actions(api.store.db, 'WHERE s."result_id" = ? ORDER BY a."id" DESC',
                                (int(call.match["pk"]),))
        return Response(200, {"objects": [progress_view(a) for a in found]})

    @api.endpoint("compositedatamanagement", r"configuration/", ("GET", "POST"))
    def configuration(call: Call) -> Response:
        db = api.store.db
        if call.method == "POST":
            require(call, superuser=True)
            body = _body(call)
            filesets = body.get("filesets", {})
            if not isinstance(filesets, dict):
                raise bad_request("filesets: an object keyed by category")
            try:
                changes = [(actions.category(k), v) for k, v in filesets.items()]
                for _type, values in changes:
                    if not isinstance(values, dict):
                        raise DmRefused("each category's settings must be an object", status=400)
                    _check_settings(values)
                for type_, values in changes:
                    auto.configure(api.store, type_, auto_action=values.get("auto_action"),
                                   age=values.get("auto_trigger_age"), usage=values.get("auto_trigger_usage"),
                                   backup_directory=values.get("backup_directory"), user=call.user.username)
            except DmRefused as exc:
                raise _refused(exc)
            if "auto_archive_enable" in body or "auto_archive_ack" in body:
                enabled, ack_now = auto.switches(db)
                auto.set_enabled(api.store, _flag(body, "auto_archive_enable", enabled),
                                 _flag(body, "auto_archive_ack", ack_now))
        enabled, auto_ack = auto.switches(db)
        return Response(200, {"auto_archive_enable": enabled, "auto_archive_ack": auto_ack,
                              "filesets": {PREFIX[t]: fileset_view(fs) for t, fs in current_filesets(db).items()}})

    @api.endpoint("compositedatamanagement", r"auto/", ("GET",))
    def dry_run(call: Call) -> Response:
        enabled, _ack = auto.switches(api.store.db)
        return Response(200, {"enabled": enabled, "objects": [vars(p) for p in auto.plan(api.store)]})


def _check_settings(values: dict) -> None:
    """Everything auto.configure would refuse, checked before any category is changed."""
    for key, top in (("auto_trigger_age", 10000), ("auto_trigger_usage", 100)):
        value = values.get(key)
        if value is not None and (isinstance(value, bool) or not str(value).strip().isdigit() or int(value) > top):
            raise DmRefused(f"{key} must be a whole number from 0 to {top}", status=400)
    for key in ("auto_action", "backup_directory"):
        if values.get(key) is not None and not isinstance(values[key], str):
            raise DmRefused(f"{key} must be text", status=400)
    if values.get("auto_action") not in (None, "OFF", "ARC", "DEL"):
        raise DmRefused("auto_action must be OFF, ARC or DEL", status=400)
    backup = values.get("backup_directory")
    if backup and not os.path.isdir(backup):
        raise DmRefused(f"backup directory {backup} is not a directory", status=400)


def _flag(body: dict, key: str, current: bool) -> bool:
    if key not in body:
        return current
    value = body[key]
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes"):
        return True
    if str(value).lower() in ("false", "0", "no"):
        return False
    raise bad_request(f"{key}: true or false")


__all__ = ["register"]
