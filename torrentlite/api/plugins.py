"""Plugin administration endpoints, extend.py calls, plugin config pages and pluginMedia files.

API (below /rundb/api/v1/plugin/): install/, {pk}/uninstall/, rescan/, {pk}/rescan_plugin/, {pk}/info/,
{pk}/type/, set/{ids}/type/, lineage/, {pk-or-name}/extend/{function}/.
Pages: /configure/plugins/plugin/<pk>/configure/<config|plan|report|about>/ and /pluginMedia/<Name>/<file>.
"""
from __future__ import annotations

import html
import json
import logging
import os
import re
import uuid
from io import BytesIO
from pathlib import Path
from urllib.parse import parse_qs

import bottle

from torrentlite.api.errors import ApiError, bad_request, not_found, unauthorized
from torrentlite.api.http import Api, Call, Response, encode
from torrentlite.api.json_text import parse_json
from torrentlite.api.request_headers import TolerantHeaders
from torrentlite.runner.extend import ERROR, MISSING, ExtendRunner
from torrentlite.runner.inspect import PluginError
from torrentlite.runner.manager import CONFIG_PAGES, PluginManager
from torrentlite.store.sessions import cookie_token

log = logging.getLogger("torrentlite.api.plugins")

EXTEND_TIMEOUT = 30
NO_INFORMATION = ("<!DOCTYPE html>\n<html><head><title>Plugin</title></head><body>"
                  "<p>There is no information available for this plugin.</p></body></html>\n")
_SCRATCH_NAME = re.compile(r"^[\w][\w .+\-]*$")


def _gone(message: str) -> ApiError:
    return ApiError(410, {"error": message})


def _require_admin(call: Call) -> None:
    if not getattr(call.user, "is_superuser", False):
        raise ApiError(401, {"error": "Only an administrator can install, remove or rescan plugins."})


def _plugin_object(api: Api, call: Call, pk) -> dict:
    return api.read.detail(api.registry["plugin"], str(pk), {}, user=call.user)


def _uploaded_file(call: Call):
    """(filename, bytes) of a multipart upload's `file` field, or None when the request is not multipart."""
    ctype = call.headers.get("Content-Type") or ""
    if not ctype.lower().startswith("multipart/form-data"):
        return None
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(call.body)),
               "wsgi.input": BytesIO(call.body), "QUERY_STRING": ""}
    try:
        upload = bottle.BaseRequest(environ).files.get("file")
    except Exception as exc:  # bottle raises assorted errors for malformed multipart bodies
        raise bad_request("The upload could not be read: %s" % exc)
    if upload is None:
        raise bad_request("The upload has no 'file' field.")
    return upload.raw_filename or upload.filename or "", upload.file.read()


def _requested_name(call: Call) -> str:
    """The scratch file named by a JSON body or a form field `file`."""
    ctype = (call.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        form = parse_qs(call.body.decode("utf-8", "replace"))
        name = (form.get("file") or [""])[-1]
    else:
        body = call.json()
        name = body.get("file", "") if isinstance(body, dict) else ""
    if not isinstance(name, str) or not name:
        raise bad_request("Name the plugin archive to install: {\"file\": \"<name of a file in the plugin "
                          "upload folder>\"}, or upload it as the multipart field 'file'.")
    return name


def _check_archive_name(name: str) -> None:
    base = os.path.basename(name.replace("\\", "/"))
    if base.lower().endswith(".deb"):
        raise bad_request("%s is a Debian package; torrentlite installs plugins from .zip archives only." % base)
    if not base.lower().endswith(".zip"):
        raise bad_request("%s is not a .zip archive; plugins are installed from .zip files." % (base or "the upload"))


def register(api: Api) -> None:
    """Register the plugin endpoints on `api`; `api.plugins` and `api.plugin_extend` become available."""
    manager = PluginManager(api.store, api.settings.plugins_path)
    extend = ExtendRunner(timeout=EXTEND_TIMEOUT)
    api.plugins = manager
    api.plugin_extend = extend
    resource = api.registry["plugin"]

    def row_or_404(call: Call) -> dict:
        row = manager.get(call.match["pk"])
        if row is None:
            raise not_found()
        return row

    @api.endpoint("plugin", r"install/", ("POST",))
    def install(call: Call) -> Response:
        _require_admin(call)
        scratch = manager.scratch_path
        scratch.mkdir(parents=True, exist_ok=True)
        uploaded = _uploaded_file(call)
        if uploaded is not None:
            filename, data = uploaded
            _check_archive_name(filename)
            target = scratch / ("upload-%s.zip" % uuid.uuid4().hex)
            target.write_bytes(data)
        else:
            name = _requested_name(call)
            if "/" in name or "\\" in name or name in (".", "..") or "\0" in name or not _SCRATCH_NAME.match(name):
                raise bad_request("%r is not the name of a file in the plugin upload folder." % name)
            target = scratch / name
            if not target.is_file() or target.is_symlink():
                raise bad_request("%s is not in the plugin upload folder." % name)
            try:
                _check_archive_name(name)
            except ApiError:
                target.unlink(missing_ok=True)
                raise
        try:
            if target.stat().st_size == 0:
                raise PluginError("%s is empty" % (uploaded[0] if uploaded else target.name))
            row = manager.install_zip(target)
        except PluginError as exc:
            log.info("plugin install refused: %s", exc.message)
            raise bad_request(exc.message)
        finally:
            target.unlink(missing_ok=True)
        log.info("installed plugin %s %s", row["name"], row["version"])
        return Response(202, _plugin_object(api, call, row["id"]))

    def uninstall(call: Call) -> Response:
        _require_admin(call)
        row = row_or_404(call)
        try:
            manager.uninstall(row["id"])
        except (PluginError, OSError) as exc:
            raise ApiError(500, {"error": str(exc)})
        return Response(200, {"Status": True})

    api.endpoint("plugin", r"(?P<pk>\d+)/uninstall/", ("DELETE",))(uninstall)
    api.endpoint("plugin", r"uninstall/(?P<pk>\d+)/", ("DELETE",))(uninstall)

    @api.endpoint("plugin", r"rescan/")
    def rescan(call: Call) -> Response:
        _require_admin(call)
        report = manager.rescan()
        for name, message in report["errors"].items():
            log.warning("rescan skipped plugin %s: %s", name, message)
        return Response(202, report)

    @api.endpoint("plugin", r"(?P<pk>\d+)/rescan_plugin/")
    def rescan_plugin(call: Call) -> Response:
        _require_admin(call)
        row = row_or_404(call)
        try:
            manager.rescan_one(row["id"])
        except PluginError as exc:
            raise bad_request(exc.message)
        return Response(202, None)

    @api.endpoint("plugin", r"(?P<pk>\d+)/info/")
    def info(call: Call) -> Response:
        row_or_404(call)
        data = manager.info(call.match["pk"])
        if data is None:
            raise _gone("No information is available for this plugin.")
        return Response(200, data)

    def plugin_type(row: dict):
        folder = Path(row["path"]) if row["path"] else None
        if folder is None or not folder.is_dir():
            return None
        out = {"files": sorted(os.listdir(folder))}
        url = manager.page_url(row, "report")
        if url:
            out["input"] = url
        return out

    @api.endpoint("plugin", r"(?P<pk>\d+)/type/")
    def type_one(call: Call) -> Response:
        data = plugin_type(row_or_404(call))
        if data is None:
            raise _gone("The plugin's folder is missing.")
        return Response(200, data)

    @api.endpoint("plugin", r"set/(?P<ids>[^/]+)/type/", auth=False)
    def type_set(call: Call) -> Response:
        out = {}
        for raw in [i for i in call.match["ids"].split(";") if i]:
            row = manager.get(raw)
            data = plugin_type(row) if row else None
            if data is None:
                raise _gone("Plugin %s is missing." % raw)
            out[str(row["id"])] = data
        return Response(200, out)

    @api.endpoint("plugin", r"lineage/")
    def lineage(call: Call) -> Response:
        raw = (call.params.get("selected") or [""])[-1].lower()
        selected = {"true": True, "1": True, "false": False, "0": False}.get(raw)
        objects = manager.lineage(selected)
        return Response(200, {"meta": {"limit": 1000, "next": None, "offset": 1000, "previous": None,
                                       "total_count": len(objects)}, "objects": objects})

    @api.endpoint("plugin", r"(?P<key>\w[\w./-]*)/extend/(?P<function>\w[\w/\-;]*)/", auth=False,
                  check_methods=False)
    def extend_call(call: Call) -> Response:
        row = manager.find(call.match["key"])
        if row is None or not row["path"]:
            raise not_found()
        user = api.auth.authenticate(call.headers, call.params, call.remote_addr, call.method)
        bucket = {"request_get": call.params, "request_method": call.method, "name": row["name"],
                  "version": row["version"], "config": row["config"] or {},
                  "user": (call.params.get("ir_user") or [None])[-1] or (user.username if user else
                                                                         "AnonymousUser")}
        if call.method == "POST":
            try:
                bucket["request_post"] = parse_json(call.body) if call.body else None
            except ValueError as exc:
                raise ApiError(400, {"error": "The POST body is not JSON: %s" % exc})
        outcome = extend.call(row["path"], row["name"], call.match["function"], bucket)
        if outcome.status == MISSING:
            raise ApiError(404, {"error": outcome.message})
        if outcome.status == ERROR:
            log.warning("extend.py call failed: %s", outcome.message)
            raise ApiError(500, {"error": outcome.message})
        # Encoded here so that strings and null come back as JSON too, as the real serializer does.
        payload, ctype = encode(outcome.result, call.params)
        return Response(200, payload, {"Content-Type": ctype})

    del resource


# -- pages -------------------------------------------------------------------------------------
def _script_json(value) -> str:
    """JSON safe to place inside a <script> element."""
    return json.dumps(value, sort_keys=True, default=str).replace("</", "<\\/").replace("<!--", "<\\!--")


def _plugin_fields(row: dict) -> dict:
    fields = {}
    for key, value in row.items():
        if key == "id":
            continue
        fields[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return fields


# A page opened from a signed-in browser sends the session's CSRF token on its own unsafe same-origin
# requests (jQuery, XMLHttpRequest or fetch), as Torrent Suite's pages set up for Django.
CSRF_SETUP = """(function (token) {
  if (!token || window.TB_csrf_ready) { return; }
  window.TB_csrf_ready = true;
  var open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this._tlUnsafe = !/^(GET|HEAD|OPTIONS)$/i.test(method) && new URL(url, location.href).origin === location.origin;
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (this._tlUnsafe) { this.setRequestHeader("X-CSRFToken", token); }
    return send.apply(this, arguments);
  };
  if (window.fetch) {
    var original = window.fetch;
    window.fetch = function (input, init) {
      init = init || {};
      var url = typeof input === "string" ? input : input.url;
      var method = init.method || (typeof input === "string" ? "GET" : input.method) || "GET";
      if (!/^(GET|HEAD|OPTIONS)$/i.test(method) && new URL(url, location.href).origin === location.origin) {
        var headers = new Headers(init.headers || (typeof input === "string" ? {} : input.headers));
        headers.set("X-CSRFToken", token);
        init.headers = headers;
      }
      return original.call(this, input, init);
    };
  }
})(TB_csrf);"""


def head_script(row: dict, user, result_pk, result_json, params: dict, csrf: str = "") -> str:
    """The <script> block with the TB_* globals a plugin page expects."""
    plan = {"applicationGroup": (params.get("applicationGroup") or [""])[-1],
            "runType": (params.get("runType") or [""])[-1]}
    lines = [
        "var TB_plugin = %s;" % _script_json({"pk": row["id"], "model": "rundb.plugin",
                                              "fields": _plugin_fields(row)}),
        "var TB_pluginMedia = %s;" % _script_json("/pluginMedia/%s/" % row["name"]),
        "var TB_user = %s;" % _script_json(getattr(user, "username", "") or ""),
        "var TB_result = %s;" % _script_json(result_pk),
        "var TB_result_json = %s;" % _script_json(result_json),
        "var TB_plan_json = %s;" % _script_json(plan),
        "var TB_TMAP = %s;" % _script_json((params.get("tmap") or [""])[-1]),
        "var TB_csrf = %s;" % _script_json(csrf),
        CSRF_SETUP,
    ]
    return '<script type="text/javascript">\n' + "\n".join(lines) + "\n</script>\n"


def inject(page: str, script: str) -> str:
    """Insert `script` before the first </head> and again after the document, as Torrent Suite does."""
    match = re.search(r"</head\s*>", page, re.IGNORECASE)
    if match is None:
        return script + page
    return page[:match.start()] + script + page[match.start():] + "\n" + script


def safe_media_file(media_root: Path, relative: str):
    """The file `relative` below `media_root`, or None when it is outside it, missing or not a file."""
    if not relative or "\0" in relative or "\\" in relative or relative.startswith("/"):
        return None
    parts = relative.split("/")
    if any(part in ("..", "") for part in parts[:-1]) or parts[-1] in ("..", "."):
        return None
    try:
        root = media_root.resolve(strict=True)
        target = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if root not in target.parents or not target.is_file():
        return None
    return root, target


def mount_pages(wsgi: bottle.Bottle, api: Api) -> None:
    """Add the plugin config pages and the pluginMedia files to the Bottle app."""
    manager: PluginManager = api.plugins

    def html_response(status: int, text: str) -> bottle.HTTPResponse:
        return bottle.HTTPResponse(text.encode("utf-8"), status,
                                   {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"})

    def page(pk: int, action: str):
        request = bottle.request
        params = parse_qs(request.query_string, keep_blank_values=True)
        headers = TolerantHeaders(request.headers, request.environ)
        user = api.auth.authenticate(headers, params, request.remote_addr, request.method)
        if user is None:
            # A page another site made the browser load gets no password prompt either.
            refused = api.auth.loopback_refusal(request.method, headers, request.remote_addr)
            return bottle.HTTPResponse(b"", 401, {} if refused else unauthorized().headers)
        if action not in CONFIG_PAGES:
            return html_response(404, "<p>Unknown plugin page %s.</p>" % html.escape(action))
        row = manager.get(pk)
        if row is None:
            return html_response(404, "<p>There is no plugin %d.</p>" % pk)
        # Like pluginMedia, a page that resolves (through a symlink) outside its plugin is no page.
        found = safe_media_file(Path(row["path"]), CONFIG_PAGES[action]) if row["path"] else None
        if found is None:
            return html_response(200, NO_INFORMATION)
        path = found[1]
        result_pk, result_json = None, None
        report = (params.get("report") or [""])[-1]
        if report:
            try:
                result_json = api.read.detail(api.registry["results"], report, {}, user=user)
                result_pk = result_json.get("id")
            except ApiError:
                return html_response(404, "<p>There is no report %s.</p>" % html.escape(report))
        text = path.read_text(encoding="utf-8", errors="replace")
        session = api.auth.sessions.get(cookie_token(request.headers))
        csrf = session.csrf if session is not None and session.user_id == user.id else ""
        return html_response(200, inject(text, head_script(row, user, result_pk, result_json, params, csrf)))

    def media_for(row, relative: str):
        if row is None or not row["path"]:
            return bottle.HTTPResponse(b"", 404)
        found = safe_media_file(Path(row["path"]) / "pluginMedia", relative)
        if found is None:
            return bottle.HTTPResponse(b"", 404)
        root, target = found
        return bottle.static_file(str(target.relative_to(root)), root=str(root))

    def media(name: str, path: str):
        return media_for(manager.active_row(name), path)

    def page_media(pk: int, action: str, path: str):
        return media_for(manager.get(pk), path)

    wsgi.route("/configure/plugins/plugin/<pk:int>/configure/<action>/", ["GET"], page)
    wsgi.route("/configure/plugins/plugin/<pk:int>/configure/<action>/pluginMedia/<path:path>", ["GET"],
               page_media)
    wsgi.route("/pluginMedia/<name>/<path:path>", ["GET"], media)
