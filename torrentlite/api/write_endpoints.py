"""Endpoints of the write side: `rig/{name}/status/` (GET, PUT), `rig/{name}/config/` (GET), openapi.json."""
from __future__ import annotations

from torrentlite.api import openapi
from torrentlite.api.errors import bad_request, canned
from torrentlite.api.http import Api, Call, Response
from torrentlite.api.represent import wire_value
from torrentlite.api.write_hydrate import convert
from torrentlite.store.models import column

STATUS_KEYS = ("state", "last_init_date", "last_clean_date", "last_experiment", "version", "alarms")
CONFIG_KEYS = ("ftppassword", "ftprootdir", "ftpserver", "ftpusername", "updateflag")


def register(api: Api) -> None:
    """Register the rig endpoints and the OpenAPI document on `api` (its write handler must be set)."""
    openapi.register(api)
    store = api.store
    columns = store.registry.tables["rig"].columns

    def rig_row(call: Call) -> dict:
        model = store.model("rig")
        row = model.select().where(column(model, "name") == call.match["name"]).dicts().first()
        if row is None:
            raise canned(404)
        return row

    def shown(row: dict, keys) -> dict:
        out = {}
        for key in keys:
            value = row.get(key)
            out[key] = (value if value is not None else {}) if columns[key].kind == "json" else wire_value(value)
        return out

    @api.endpoint("rig", r"(?P<name>[^/]+)/status/", ("GET", "PUT"))
    def rig_status(call: Call) -> Response:
        row = rig_row(call)
        if call.method == "GET":
            return Response(200, shown(row, STATUS_KEYS))
        body = api.writes.body(call)
        api.writes.require(call, "change", "rig")
        values = {}
        for key in STATUS_KEYS:
            if key in body and body[key] is not None:
                values[key] = convert(columns[key], body[key], key)
        unknown = sorted(set(body) - set(STATUS_KEYS))
        if unknown:
            raise bad_request(f"Unknown rig status keys: {', '.join(unknown)}. Known keys: {', '.join(STATUS_KEYS)}.")
        if values:
            model = store.model("rig")
            with api.writes.transaction():
                model.update({column(model, k): v for k, v in values.items()}).where(
                    column(model, "name") == row["name"]).execute()
        return Response(202)

    @api.endpoint("rig", r"(?P<name>[^/]+)/config/", ("GET",))
    def rig_config(call: Call) -> Response:
        return Response(200, shown(rig_row(call), CONFIG_KEYS))
