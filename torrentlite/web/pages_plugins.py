"""Plugin administration: installed plugins, zip upload, enable/disable, default selection, configure, uninstall."""
from __future__ import annotations

import json

import bottle

from torrentlite.web.core import Pages, error_text, redirect, render

MAX_UPLOAD = 512 * 1024 * 1024


def register(wsgi: bottle.Bottle, pages: Pages) -> None:
    api = pages.api
    manager = api.plugins

    def plugin_rows(visitor) -> list[dict]:
        listing = api.read.list(api.registry["plugin"], {"limit": ["0"], "order_by": ["name"]}, path="/plugins",
                                user=visitor.user)
        earlier: dict = {}
        for row in manager.rows(active=False):
            earlier.setdefault(row["name"], []).append(row["version"])
        out = []
        for p in listing["objects"]:
            if not p.get("active"):
                continue
            out.append({**p, "earlier": ", ".join(sorted(set(earlier.get(p["name"], [])) - {p["version"]})),
                        "config_url": manager.page_url({"id": p["id"], "path": p["path"]}, "config"),
                        "about_url": manager.page_url({"id": p["id"], "path": p["path"]}, "about")})
        return sorted(out, key=lambda p: p["name"].lower())

    @pages.require
    def plugins(visitor):
        return render("plugins.tpl", visitor=visitor, title="Plugins", plugins=plugin_rows(visitor))

    def wants_json() -> bool:
        return bottle.request.headers.get("X-Requested-With") == "XMLHttpRequest"

    def answer(ok: bool, message: str):
        if wants_json():
            return bottle.HTTPResponse(json.dumps({"ok": ok, "message": message}), 200 if ok else 400,
                                       {"Content-Type": "application/json"})
        return redirect("/plugins", notice=message) if ok else redirect("/plugins", error=message)

    @pages.require
    def install(visitor):
        request = bottle.request
        if (request.content_length or 0) > MAX_UPLOAD:
            return answer(False, "The upload is larger than 512 MiB.")
        try:
            upload = request.files.get("file")
        except Exception:  # bottle raises assorted errors for malformed multipart bodies
            return answer(False, "The upload could not be read; choose the .zip file again.")
        if upload is None or not (upload.raw_filename or upload.filename):
            return answer(False, "Choose a plugin .zip file to upload.")
        # Re-sent to the API's install endpoint exactly as a script would upload it.
        boundary = "torrentlite-page-upload"
        name = (upload.raw_filename or upload.filename).replace('"', "").replace("\r", "").replace("\n", "")
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: application/zip\r\n\r\n").encode()
        body += upload.file.read() + f"\r\n--{boundary}--\r\n".encode()
        status, result = pages.api_call(visitor, "POST", "plugin/install/", raw=body,
                                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        if 200 <= status < 300:
            label = f"{result.get('name')} {result.get('version')}" if isinstance(result, dict) else name
            return answer(True, f"Installed {label}.")
        return answer(False, f"{name} was not installed: {error_text(status, result)}")

    @pages.require
    def change(visitor, pk: int, action: str):
        if action == "uninstall":
            status, result = pages.api_call(visitor, "DELETE", f"plugin/{pk}/uninstall/")
            done = "Plugin uninstalled; its results on reports are kept."
        else:
            field, value = {"enable": ("selected", True), "disable": ("selected", False),
                            "default-on": ("defaultSelected", True), "default-off": ("defaultSelected", False)}[action]
            status, result = pages.api_call(visitor, "PATCH", f"plugin/{pk}/", {field: value})
            done = {"enable": "Plugin enabled.", "disable": "Plugin disabled.",
                    "default-on": "Plugin selected by default for new plans.",
                    "default-off": "Plugin no longer selected by default."}[action]
        if 200 <= status < 300:
            return redirect("/plugins", notice=done)
        return redirect("/plugins", error=error_text(status, result))

    wsgi.route("/plugins", ["GET"], plugins)
    wsgi.route("/plugins/install", ["POST"], install)
    wsgi.route("/plugins/<pk:int>/<action:re:enable|disable|default-on|default-off|uninstall>", ["POST"], change)
