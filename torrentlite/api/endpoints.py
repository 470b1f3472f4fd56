"""Custom read endpoints that report on this box: account, software info, version, network, metadata."""
from __future__ import annotations

import socket

import psutil

from torrentlite import __version__
from torrentlite.api.errors import canned, not_found
from torrentlite.api.http import Api, Call, Response
from torrentlite.store.users import Users

_NO_AUTH_SCHEMA = {"default_format": "application/json", "default_limit": 0, "filtering": {}, "ordering": []}


def _hard_schema(resource, list_methods):
    fields = {fs.name: {"blank": fs.blank, "default": fs.schema_default(), "help_text": fs.help,
                        "nullable": fs.nullable, "readonly": fs.readonly, "type": fs.type, "unique": fs.unique}
              for fs in resource.spec.fields}
    return {**_NO_AUTH_SCHEMA, "allowed_detail_http_methods": [], "allowed_list_http_methods": list_methods,
            "fields": fields}


def network_state() -> dict:
    """This machine's interfaces: the first up, non-loopback IPv4 address and whether a route exists."""
    stats = psutil.net_if_stats()
    internal = None
    eth = False
    for name, addrs in psutil.net_if_addrs().items():
        up = stats.get(name) and stats[name].isup
        if not up or name == "lo":
            continue
        for addr in addrs:
            if addr.family == socket.AF_INET and not addr.address.startswith("127."):
                eth = True
                internal = internal or addr.address
    route = False
    try:
        with open("/proc/net/route") as fh:
            route = any(line.split()[1] == "00000000" for line in fh.readlines()[1:] if line.strip())
    except OSError:
        route = None
    # external_ip would need a public lookup service; this server never calls out, so it reports "".
    return {"eth_device": eth, "external_ip": "", "internal_ip": internal, "route": route}


def register(api: Api) -> None:
    """Register the custom endpoints of this module on `api`."""
    registry = api.registry
    store = api.store

    api.add_name("account")
    api.add_name("getsoftwareinfo")

    def account_object(call: Call) -> dict:
        users = Users(store)
        return {"admin": call.user.is_superuser, "api_key": users.api_key(call.user.username),
                "uid": str(call.user.id), "username": call.user.username,
                "resource_uri": f"/rundb/api/v1/account/{call.user.id}/"}

    @api.endpoint("account", "schema/")
    def account_schema(call: Call) -> Response:
        fields = {name: {"blank": False, "default": "No default provided.", "help_text": text, "nullable": False,
                         "readonly": True, "type": kind, "unique": False}
                  for name, kind, text in (("admin", "boolean", "Whether the user is a superuser."),
                                           ("api_key", "string", "The user's API key."),
                                           ("uid", "string", "The user's id."),
                                           ("username", "string", "The user's name."),
                                           ("resource_uri", "string", "This object's URI."))}
        return Response(200, {**_NO_AUTH_SCHEMA, "default_limit": 20, "allowed_detail_http_methods": ["get"],
                              "allowed_list_http_methods": ["get"], "fields": fields})

    @api.endpoint("getsoftwareinfo", "schema/", auth=False)
    def software_info_schema(call: Call) -> Response:
        fields = {name: {"blank": False, "default": "No default provided.", "help_text": text, "nullable": False,
                         "readonly": True, "type": "string", "unique": False}
                  for name, text in (("site_name", "The site name from the global configuration."),
                                     ("software_release_version", "The torrentlite version."),
                                     ("server_mode", "Always ruo."), ("software_platform", "Always TS."))}
        return Response(200, {**_NO_AUTH_SCHEMA, "allowed_detail_http_methods": [],
                              "allowed_list_http_methods": ["get"], "fields": fields})

    @api.endpoint("account", "")
    def account_list(call: Call) -> Response:
        obj = account_object(call)
        return Response(200, {"meta": {"limit": 20, "next": None, "offset": 0, "previous": None,
                                       "total_count": 1}, "objects": [obj]})

    @api.endpoint("account", r"(?P<pk>\d+)/")
    def account_detail(call: Call) -> Response:
        if int(call.match["pk"]) != call.user.id:
            raise not_found()
        return Response(200, account_object(call))

    def site_name() -> str:
        row = store.db.execute_sql('SELECT site_name FROM "globalconfig" ORDER BY id LIMIT 1').fetchone()
        return row[0] if row else ""

    @api.endpoint("getsoftwareinfo", "", auth=False)
    def software_info(call: Call) -> Response:
        return Response(200, {"site_name": site_name(), "software_release_version": __version__,
                              "server_mode": "ruo", "software_platform": "TS"})

    @api.endpoint("torrentsuite", "version/", auth=False, check_methods=False)
    def version(call: Call) -> Response:
        return Response(200, {"meta_version": __version__})

    @api.endpoint("torrentsuite", "schema/", auth=False)
    def torrentsuite_schema(call: Call) -> Response:
        return Response(200, _hard_schema(registry["torrentsuite"], ["get"]))

    @api.endpoint("torrentsuite", "")
    def torrentsuite(call: Call) -> Response:
        return Response(200, {"versions": {"torrentlite": __version__}, "meta_version": __version__,
                              "locked": False, "logs": False})

    @api.endpoint("network", "schema/", auth=False)
    def network_schema(call: Call) -> Response:
        return Response(200, _hard_schema(registry["network"], ["get"]))

    @api.endpoint("network", "")
    def network(call: Call) -> Response:
        return Response(200, network_state())

    def result_row(call: Call) -> dict:
        try:
            pk = int(call.match["pk"])
        except ValueError:
            raise canned(404)
        rows = api.read.rows_for_keys(registry["results"], [pk])
        if pk not in rows:
            raise canned(404)
        return rows[pk]

    @api.endpoint("results", r"(?P<pk>[^/]+)/metadata/", ("GET", "POST"))
    def results_metadata(call: Call) -> Response:
        if call.method == "GET":
            return Response(200, result_row(call).get("metaData") or {})
        if api.writes is None:
            raise canned(501)
        return api.writes.results_metadata(call, result_row(call))

    @api.endpoint("results", r"(?P<pk>[^/]+)/pluginstore/", ("GET", "PUT"))
    def results_pluginstore(call: Call) -> Response:
        row = result_row(call)
        if call.method == "PUT":
            if api.writes is None:
                raise canned(501)
            return api.writes.results_pluginstore(call, row)
        models = store.models
        prs = api.read.context({}).children("pluginresult", "result", [row["id"]]).get(row["id"], [])
        plugins = api.read.context({}).rows_by_pk("plugin", [pr.get("plugin_id") for pr in prs])
        del models
        return Response(200, {plugins[pr["plugin_id"]]["name"]: pr.get("store") or {}
                              for pr in sorted(prs, key=lambda r: r["id"]) if pr.get("plugin_id") in plugins})
