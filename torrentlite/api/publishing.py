"""Publisher support: `content/register/{upload_id}/`, which publisher scripts call to register what they made."""
from __future__ import annotations

import json
import os
from pathlib import Path

from torrentlite.api.errors import ApiError, bad_request, canned
from torrentlite.api.http import Api, Call, Response
from torrentlite.runner.startplugin import fetch, fetch_one
from torrentlite.store.load import insert_row
from torrentlite.store.paths import is_inside

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
