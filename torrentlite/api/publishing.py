"""Publishers over HTTP: uploads to `/rundb/publish/api/<publisher>/`, and `content/register/{upload_id}/`,
which publisher scripts call to register what they made."""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import parse_qs

import bottle

from torrentlite.api.body_limits import body_limit, too_large
from torrentlite.api.errors import ApiError, bad_request, canned, unauthorized
from torrentlite.api.http import Api, Call, Response, to_bottle
from torrentlite.api.request_headers import TolerantHeaders
from torrentlite.runner import publishers
from torrentlite.runner.startplugin import fetch, fetch_one
from torrentlite.store.load import insert_row
from torrentlite.store.paths import is_inside
from torrentlite.store.users import Users

UPLOAD_PREFIX = "/rundb/publish/api/"

# Keys of the register body that the real server keeps as columns of its own; here they go into meta.
_META_KEYS = ("type", "extra", "description", "notes", "application_tags", "enabled")


def upload_publisher(upload: dict) -> str:
    """The publisher of an upload: uploads live in ``<uploads>/<publisher>/<upload id>/<file>``."""
    return Path(upload.get("file_path") or "").parent.parent.name


def register(api: Api) -> None:
    """Register this module's endpoints on ``api``."""
    store = api.store

    @api.endpoint("content", r"register/(?P<pk>\d+)/", ("POST",))
    def register_content(call: Call) -> Response:
        if not call.user.can("add", "content"):
            raise ApiError(401)
        upload = fetch_one(store, "contentupload", int(call.match["pk"]))
        if upload is None:
            raise canned(404)
        body = call.json()
        if not isinstance(body, dict):
            raise bad_request("Expected a JSON object")
        path = body.get("file")
        if not isinstance(path, str) or not path:
            raise bad_request("'file' (the path of the file to register) is required")
        if not os.path.isfile(path) or not is_inside(path, api.settings.data_path):
            raise bad_request(f"'file' must be an existing file in this server's data directory: {path}")
        meta = body.get("meta") or {}
        if not isinstance(meta, dict):
            raise bad_request("'meta' must be an object")
        meta = dict(meta, **{k: body[k] for k in _META_KEYS if k in body})
        publisher = fetch(store, "publisher", "name = ?", (upload_publisher(upload),))
        with store.write():
            insert_row(store, "content", {
                "contentupload_id": upload["id"], "publisher_id": publisher[0]["id"] if publisher else None,
                "file": os.path.abspath(path), "path": str(body.get("path") or ""), "meta": json.dumps(meta)})
        return Response(202)


def mount(app: bottle.Bottle, api: Api, net_location) -> None:
    """Route ``POST /rundb/publish/api/<publisher>/`` (form fields ``file`` and ``meta``) on ``app``.

    The upload is saved and answered with its contentupload object at once; the publisher's editing scripts
    then run in the background, reaching the API at ``net_location()`` with the uploader's key.
    """
    store = api.store

    def upload(name: str) -> Response:
        request = bottle.request
        params = parse_qs(request.query_string, keep_blank_values=True)
        headers = TolerantHeaders(request.headers, request.environ)
        user = api.auth.authenticate(headers, params, request.remote_addr, request.method)
        if user is None:
            raise unauthorized()
        limit = body_limit(api.settings, request.environ.get("CONTENT_TYPE", ""))
        if (request.content_length or 0) > limit:
            raise too_large(limit)
        if not user.can("add", "contentupload"):
            raise ApiError(401)
        found = fetch(store, "publisher", "name = ?", (name,))
        if not found:
            raise ApiError(404, {"error": f"No publisher named {name}"})
        try:
            part = request.files.get("file")
            meta_text = request.forms.get("meta") or "{}"
        except (ValueError, OSError):
            raise bad_request("Send the upload as multipart/form-data with fields file and meta") from None
        if part is None:
            raise bad_request("The upload has no 'file' field")
        try:
            meta = json.loads(meta_text)
        except ValueError:
            raise bad_request("'meta' must be a JSON object") from None
        if not isinstance(meta, dict):
            raise bad_request("'meta' must be a JSON object")
        try:
            pk = publishers.create_upload(store, api.settings.data_path, found[0], part.raw_filename, part.file,
                                          meta)
        except publishers.PublisherError as exc:
            raise bad_request(str(exc)) from None
        env = publishers.script_environment(api.settings.data_path, net_location() + "/rundb/api",
                                            f"{user.username}:{Users(store).api_key(user.username)}")
        publishers.process_in_background(store, api.settings.data_path, pk, env)
        resource = api.registry["contentupload"]
        return Response(200, api.read.detail(resource, str(pk), {}, user=user))

    def serve(name: str):
        try:
            response = upload(name)
        except ApiError as exc:
            response = Response(exc.status, exc.body, exc.headers)
        return to_bottle(response, {}, "POST")

    app.route(UPLOAD_PREFIX + "<name>/", ["POST"], serve)
