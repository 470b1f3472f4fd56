"""`GET /rundb/api/v1/openapi.json`: an OpenAPI 3.1 description generated from the registry.

Every table-backed resource gets its list, detail, `schema/` and `set/` paths with the methods
its page allows, request and response schemas built from its field types, its filter
parameters, the Arvados list parameters, the error shapes and the three credential schemes.
"""
from __future__ import annotations

from torrentlite import __version__
from torrentlite.api.represent import API_PREFIX
from torrentlite.store.registry import Registry, Resource

DOCUMENT = "openapi.json"
_PAGING = (
    ("limit", "integer", "Page size (0 means the maximum, 1000)."),
    ("offset", "integer", "Index of the first object of the page."),
    ("order_by", "string", "Sort key, `-` prefix for descending; repeat for several keys."),
    ("format", "string", "`json` (default) or `jsonp` (with `callback`)."),
    ("filters", "string", 'Arvados filters: JSON array of [attribute, operator, operand], e.g. '
                          '`[["name","like","Ion%"]]`; operators = != < <= > >= like ilike in "not in".'),
    ("order", "string", 'Arvados order: JSON array such as `["name asc","id desc"]` (not with order_by).'),
    ("select", "string", 'Arvados select: JSON array of attribute names to return (plus resource_uri).'),
    ("count", "string", "`exact` (default) or `none` to leave out meta.total_count."),
)
_SCALARS = {"string": {"type": "string"}, "integer": {"type": "integer"}, "float": {"type": "number"},
            "boolean": {"type": "boolean"}, "datetime": {"type": "string", "format": "date-time"},
            "list": {"type": "array"}, "dict": {"type": "object"}}


def _nullable(schema: dict, nullable: bool) -> dict:
    if not nullable:
        return schema
    if "type" in schema and isinstance(schema["type"], str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _field_schema(registry: Registry, resource: Resource, name: str, *, writing: bool) -> dict:
    fd = resource.fields[name]
    spec = fd.spec
    if spec.is_related:
        one = {"type": "string", "description": "Detail URI of the related object."}
        if writing:
            one = {"oneOf": [one, {"type": "object", "description": "Related object (with pk/id: existing)."}]}
        elif fd.nested:
            one = {"type": "object"}
        schema = {"type": "array", "items": one} if spec.to_many else one
    else:
        schema = dict(_SCALARS.get(spec.type, {}))
        table = registry.tables.get(resource.table)
        col = table.columns.get(name) if table and fd.source == "column" else None
        if col is not None and col.kind == "json":
            schema = {"type": "object"} if not writing else {"oneOf": [{"type": "object"}, {"type": "string"}]}
        elif col is not None and col.kind == "bigint" and not writing:
            schema = {"type": "string", "description": "A big integer, sent as a string."}
        elif not schema:
            schema = {}
    if spec.help:
        schema["description"] = spec.help
    if spec.readonly or fd.source in ("computed", "uri"):
        schema["readOnly"] = True
    return _nullable(schema, spec.nullable and not writing) if schema.get("type") else schema


def _schemas(registry: Registry, resource: Resource) -> tuple[dict, dict]:
    out = {name: _field_schema(registry, resource, name, writing=False) for name in resource.fields}
    writable = {name: _field_schema(registry, resource, name, writing=True) for name, fd in resource.fields.items()
                if fd.source in ("column", "relation") and (not fd.spec.readonly or name == "id")}
    return ({"type": "object", "properties": out, "additionalProperties": True},
            {"type": "object", "properties": writable, "additionalProperties": True})


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _errors(*codes) -> dict:
    table = {400: ("Bad request: bad filter, bad input or a constraint violation.", _ref("Error")),
             401: ("Not authenticated, or lacking the model permission (empty body).", None),
             404: ("No such object (empty body), or a malformed key.", None),
             405: ("Method not allowed on this resource.", None),
             501: ("POST to a detail URL.", None)}
    out = {}
    for code in codes:
        text, schema = table[code]
        out[str(code)] = {"description": text, **({"content": _json(schema)} if schema else {})}
    return out


def _list_params(resource: Resource) -> list[dict]:
    params = [{"name": n, "in": "query", "required": False, "description": d, "schema": {"type": t}}
              for n, t, d in _PAGING]
    taken = {p["name"] for p in params}
    for name in sorted(resource.filtering):
        if name in taken:
            continue
        params.append({"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                       "description": f"Filter on {name} (also {name}__<lookup>, e.g. __in, __gte, __icontains)."})
    return params


def _operations(resource: Resource, names: dict) -> dict:
    n = resource.name
    obj, inp, page = _ref(names["object"]), _ref(names["input"]), _ref(names["list"])
    body = {"required": True, "content": _json(inp)}
    list_body = {"required": True, "content": _json({
        "type": "object", "properties": {"objects": {"type": "array", "items": inp},
                                         "deleted_objects": {"type": "array", "items": {"type": "string"}}},
        "required": ["objects"]})}
    created = {"description": "Created; Location names the new object.",
               "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}}}
    list_ops = {
        "get": {"summary": f"List {n}", "parameters": _list_params(resource),
                "responses": {"200": {"description": "A page of objects.", "content": _json(page)},
                              **_errors(400, 401)}},
        "post": {"summary": f"Create a {n}", "requestBody": body,
                 "responses": {"201": created, **_errors(400, 401)}},
        "put": {"summary": f"Replace the filtered {n} objects (unfiltered needs ?confirm=all)",
                "requestBody": list_body, "responses": {"204": {"description": "Replaced."}, "200": {
                    "description": "Replaced (objects returned).", "content": _json({"type": "object"})},
                    **_errors(400, 401)}},
        "patch": {"summary": f"Update, create and delete {n} objects in one transaction", "requestBody": list_body,
                  "responses": {"202": {"description": "Applied."}, **_errors(400, 401, 405)}},
        "delete": {"summary": f"Delete the filtered {n} objects (unfiltered needs ?confirm=all)",
                   "parameters": [p for p in _list_params(resource) if p["name"] not in ("limit", "offset")] + [
                       {"name": "confirm", "in": "query", "required": False, "schema": {"type": "string",
                                                                                          "enum": ["all"]}}],
                   "responses": {"204": {"description": "Deleted."}, **_errors(400, 401)}},
    }
    detail_ops = {
        "get": {"summary": f"One {n}", "responses": {"200": {"description": "The object.", "content": _json(obj)},
                                                     **_errors(401, 404)}},
        "post": {"summary": "Not implemented on a detail URL", "responses": _errors(501)},
        "put": {"summary": f"Update a {n}, or create it with this key", "requestBody": body,
                "responses": {"204": {"description": "Updated."}, "200": {"description": "Updated.",
                                                                           "content": _json(obj)},
                              "201": created, **_errors(400, 401)}},
        "patch": {"summary": f"Partly update a {n}", "requestBody": body,
                  "responses": {"202": {"description": "Updated."}, **_errors(400, 401, 404)}},
        "delete": {"summary": f"Delete a {n}", "responses": {"204": {"description": "Deleted."},
                                                               **_errors(401, 404)}},
    }
    return {"list": {m: {**op, "operationId": f"{n}_{m}_list", "tags": [n]} for m, op in list_ops.items()
                     if m in resource.list_methods},
            "detail": {m: {**op, "operationId": f"{n}_{m}_detail", "tags": [n]} for m, op in detail_ops.items()
                       if m in resource.detail_methods}}


def build_document(registry: Registry) -> dict:
    """The OpenAPI 3.1 document for every table-backed resource of `registry`."""
    schemas = {
        "Error": {"type": "object", "properties": {"error": {}}, "required": ["error"],
                  "description": "Validation and input errors: a message, or a dict of messages by field."},
        "CannedError": {"type": "object", "properties": {"error_message": {"type": "string"}}},
        "ListMeta": {"type": "object", "properties": {
            "limit": {"type": "integer"}, "offset": {"type": "integer"}, "total_count": {"type": "integer"},
            "next": {"type": ["string", "null"]}, "previous": {"type": ["string", "null"]}}},
    }
    paths = {}
    for name, resource in sorted(registry.resources.items()):
        if resource.table is None:
            continue
        names = {"object": name, "input": f"{name}Input", "list": f"{name}List"}
        out, inp = _schemas(registry, resource)
        schemas[names["object"]] = out
        schemas[names["input"]] = inp
        schemas[names["list"]] = {"type": "object", "properties": {
            "meta": _ref("ListMeta"), "objects": {"type": "array", "items": _ref(name)}}}
        ops = _operations(resource, names)
        base = f"{API_PREFIX}{name}/"
        key = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
               "description": f"The object's {resource.detail_key}."}
        if ops["list"]:
            paths[base] = ops["list"]
        if ops["detail"]:
            paths[base + "{key}/"] = {"parameters": [key], **ops["detail"]}
        paths[base + "schema/"] = {"get": {
            "summary": f"Schema of {name}", "operationId": f"{name}_schema", "tags": [name],
            "responses": {"200": {"description": "Field types, methods, filtering and ordering.",
                                  "content": _json({"type": "object"})}, **_errors(401)}}}
        paths[base + "set/{keys}/"] = {"get": {
            "summary": f"Several {name} objects", "operationId": f"{name}_set", "tags": [name],
            "parameters": [{"name": "keys", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "Keys separated by `;`."}],
            "responses": {"200": {"description": "The objects found, and not_found keys.", "content": _json({
                "type": "object", "properties": {"objects": {"type": "array", "items": _ref(name)},
                                                 "not_found": {"type": "array", "items": {"type": "string"}}}})},
                **_errors(401)}}}
    paths[f"{API_PREFIX}{DOCUMENT}"] = {"get": {
        "summary": "This document", "operationId": "openapi_document", "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "torrentlite rundb API", "version": __version__,
                 "description": "The Torrent Suite rundb REST API (tastypie shapes) as served by torrentlite."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "Authorization",
                       "description": "`Authorization: ApiKey <username>:<key>` (or ?username=&api_key=)."},
            "Basic": {"type": "http", "scheme": "basic"},
            "PluginKey": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "`Authorization: PluginKey <pluginresult id>:<key>` given to a running "
                                         "plugin (or ?pluginresult=&api_key=)."}}},
        "security": [{"ApiKey": []}, {"Basic": []}, {"PluginKey": []}],
    }


def register(api) -> None:
    """Serve the document at `<prefix>openapi.json` (no credentials needed).

    The name ends in `.json`, not `/`, so it is answered ahead of the trailing-slash redirect.
    """
    from torrentlite.api.http import Response

    document = {}
    handle = api.handle

    def handle_with_document(method, path, query, headers, body, remote_addr, params=None):
        if path == DOCUMENT and method in ("GET", "HEAD"):
            if not document:
                document.update(build_document(api.registry))
            return Response(200, document)
        return handle(method, path, query, headers, body, remote_addr, params)

    api.handle = handle_with_document
