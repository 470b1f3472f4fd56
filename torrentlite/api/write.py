"""Writes on every table-backed resource: POST, PUT, PATCH and DELETE on lists and details.

Each request is one `store.write()` transaction: bad input, a missing permission or a constraint
violation anywhere in it is a 4xx and leaves the database as it was. Plugin output folders of
deleted plugin results are removed after the transaction commits.
"""
from __future__ import annotations

import contextlib
import threading

import peewee

from torrentlite.api import arvados
from torrentlite.api.errors import ApiError, bad_request, canned, not_found
from torrentlite.api.http import Response
from torrentlite.api.represent import detail_uri
from torrentlite.api.resource import special_filters
from torrentlite.api.write_files import cascade, plugin_output_dirs, remove_dirs
from torrentlite.api.write_hooks import hooks_for
from torrentlite.api.write_hydrate import Hydrator, WriteContext
from torrentlite.store.models import column
from torrentlite.store.registry import Resource

# tastypie's always_return_data resources: writes answer with the object itself.
ALWAYS_RETURN_DATA = ("experiment", "plannedexperiment", "plannedexperimentdb", "sampleset")
CONFIRM_ALL = "all"


class WriteHandler:
    """`dispatch(resource, call, key)` for non-GET methods; custom write endpoints of results."""

    def __init__(self, api):
        self.api = api
        self.store = api.store
        self.registry = api.registry
        self.settings = api.settings
        self.hydrator = Hydrator(api.store)
        self._pending = threading.local()

    # -- entry point ---------------------------------------------------------------------------
    def dispatch(self, resource: Resource, call, key):
        if key is None:
            handler = {"POST": self.post_list, "PUT": self.put_list, "PATCH": self.patch_list,
                       "DELETE": self.delete_list}.get(call.method)
        else:
            if call.method == "POST":
                return Response(501)
            handler = {"PUT": self.put_detail, "PATCH": self.patch_detail,
                       "DELETE": self.delete_detail}.get(call.method)
        if handler is None:
            raise ApiError(405)
        return handler(resource, call, key)

    # -- helpers ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self):
        """One write transaction; constraint violations become 400 after the rollback.

        Actions registered with `after_commit` while it is open run once it has committed.
        """
        self._pending.actions = []
        try:
            with self.store.write():
                yield
        except peewee.IntegrityError as exc:
            raise bad_request(f"The object could not be saved: {exc}.")
        finally:
            actions, self._pending.actions = self._pending.actions, []
        for action in actions:
            action()

    def after_commit(self, action) -> None:
        """Run `action()` after the current request's transaction commits (never if it rolls back)."""
        self._pending.actions.append(action)

    @staticmethod
    def require(call, action: str, table: str) -> None:
        """Model permission check: 401 with no challenge header, like tastypie's Unauthorized."""
        if call.user is None or not call.user.can(action, table):
            raise ApiError(401)

    @staticmethod
    def body(call) -> dict:
        data = call.json()
        if not isinstance(data, dict):
            raise bad_request("The request body must be a JSON object.")
        return data

    def save(self, resource: Resource, body: dict, ctx: WriteContext, key=None, url_key=None):
        """Save one object through the resource's hooks; returns its pk."""
        hooks = hooks_for(self, resource)
        body, values = hooks.before(resource, body, ctx, key)
        if key is None and url_key is not None:
            values = {**values, resource.detail_key: url_key}
        pk = self.hydrator.save(resource, body, ctx, key=key, values=values)
        hooks.after(resource, pk, body, ctx, created=key is None)
        return pk

    def locate(self, resource: Resource, raw):
        """(url key, pk or None) of a detail URL; non-numeric keys of integer tables are canned 404s."""
        if "/" in raw:
            raise canned(404)
        key = self.hydrator.key_of(resource, raw)
        if key is None:
            raise canned(404)
        conds = self.api.read.query.view_conditions(resource, listing=False)
        return key, self.hydrator.pk_for_key(resource, key, conds)

    def represent(self, resource: Resource, pks, call) -> list:
        ctx = self.api.read.context({}, detail=True, user=call.user)
        with self.store.read():
            rows = ctx.rows_by_pk(resource.table, pks)
            return self.api.read.representer.dehydrate(resource, [rows[k] for k in pks if k in rows], ctx)

    def location(self, resource: Resource, pk, call) -> str:
        key = pk
        if resource.detail_key != self.registry.tables[resource.table].pk:
            model = self.store.model(resource.table)
            row = model.select(column(model, resource.detail_key)).where(
                self.hydrator.pk_field(resource.table) == pk).tuples().first()
            key = row[0] if row else pk
        host = call.headers.get("Host") or "localhost"
        return f"http://{host}{detail_uri(resource.name, key)}"

    def answer(self, resource: Resource, pk, call, status: int, created: bool = False):
        headers = {"Location": self.location(resource, pk, call)} if created else {}
        if resource.name in ALWAYS_RETURN_DATA:
            objects = self.represent(resource, [pk], call)
            return Response(200 if status == 204 else status, objects[0] if objects else None, headers)
        return Response(status, None, headers)

    def delete_rows(self, resource: Resource, pks) -> list[str]:
        """Delete rows (SQLite cascades); returns the plugin output folders to remove after commit."""
        if not pks:
            return []
        doomed = cascade(self.store, resource.table, pks)
        folders = plugin_output_dirs(self.store, doomed.get("pluginresult", ()))
        model = self.store.model(resource.table)
        model.delete().where(self.hydrator.pk_field(resource.table).in_(list(pks))).execute()
        return folders

    def remove_folders(self, folders) -> None:
        if folders:
            remove_dirs(folders, self.settings.results_path)

    def filtered(self, resource: Resource, call):
        """(pks of the rows a list request's filters select, whether any filter was given)."""
        query = self.api.read.query
        params = call.params
        user_filters = query.filters_from_params(resource, params) + special_filters(self.api.read, resource, params)
        user_filters += arvados.parse(self.api.read, resource, params).conditions
        conds = query.view_conditions(resource, listing=True) + user_filters
        model = self.store.model(resource.table)
        pk = self.hydrator.pk_field(resource.table)
        select = model.select(pk)
        if conds:
            select = select.where(*conds)
        return [r[0] for r in select.tuples()], bool(user_filters)

    def check_confirm(self, resource: Resource, call, any_filter: bool, verb: str) -> None:
        confirm = (call.params.get("confirm") or [""])[-1]
        if not any_filter and confirm != CONFIRM_ALL:
            raise bad_request(f"Refusing to {verb} every {resource.name} object: this request has no filters. "
                              f"Add filters to select the objects, or add ?confirm={CONFIRM_ALL} to {verb} "
                              f"all of them.")

    # -- list methods --------------------------------------------------------------------------
    def post_list(self, resource: Resource, call, key=None):
        body = self.body(call)
        self.require(call, "add", resource.table)
        ctx = WriteContext(call.user)
        with self.transaction():
            pk = self.save(resource, body, ctx)
        return self.answer(resource, pk, call, 201, created=True)

    def patch_list(self, resource: Resource, call, key=None):
        body = self.body(call)
        if "objects" not in body:
            raise bad_request("Invalid data sent: missing 'objects'")
        objects, deleted = body.get("objects") or [], body.get("deleted_objects") or []
        if not isinstance(objects, list) or not isinstance(deleted, list):
            raise bad_request("Invalid data sent: 'objects' and 'deleted_objects' must be lists.")
        if objects and "put" not in resource.detail_methods:
            raise ApiError(405)
        if deleted and "delete" not in resource.detail_methods:
            raise ApiError(405)
        ctx = WriteContext(call.user)
        saved, folders = [], []
        with self.transaction():
            for obj in objects:
                if not isinstance(obj, dict):
                    raise bad_request("Invalid data sent: every item of 'objects' must be a JSON object.")
                existing = self.hydrator.find_uri(resource.name, obj.get("resource_uri"))
                self.require(call, "change" if existing is not None else "add", resource.table)
                saved.append(self.save(resource, obj, ctx, key=existing))
            doomed = []
            for uri in deleted:
                pk = self.hydrator.find_uri(resource.name, uri)
                if pk is None:
                    raise bad_request(f"Could not find the provided object via resource URI '{uri}'.")
                doomed.append(pk)
            if doomed:
                self.require(call, "delete", resource.table)
                folders = self.delete_rows(resource, doomed)
        self.remove_folders(folders)
        if resource.name in ALWAYS_RETURN_DATA:
            return Response(202, {"objects": self.represent(resource, saved, call)})
        return Response(202)

    def put_list(self, resource: Resource, call, key=None):
        body = self.body(call)
        objects = body.get("objects")
        if not isinstance(objects, list):
            raise bad_request("Invalid data sent.")
        if not all(isinstance(obj, dict) for obj in objects):
            raise bad_request("Invalid data sent: every item of 'objects' must be a JSON object.")
        ctx = WriteContext(call.user)
        with self.transaction():
            pks, any_filter = self.filtered(resource, call)
            if pks:
                self.check_confirm(resource, call, any_filter, "replace")
                self.require(call, "delete", resource.table)
            if objects:
                self.require(call, "add", resource.table)
            folders = self.delete_rows(resource, pks)
            saved = [self.save(resource, obj, ctx) for obj in objects]
        self.remove_folders(folders)
        if resource.name in ALWAYS_RETURN_DATA:
            return Response(200, {"objects": self.represent(resource, saved, call)})
        return Response(204)

    def delete_list(self, resource: Resource, call, key=None):
        with self.transaction():
            pks, any_filter = self.filtered(resource, call)
            self.check_confirm(resource, call, any_filter, "delete")
            self.require(call, "delete", resource.table)
            folders = self.delete_rows(resource, pks)
        self.remove_folders(folders)
        return Response(204)

    # -- detail methods ------------------------------------------------------------------------
    def put_detail(self, resource: Resource, call, raw):
        body = self.body(call)
        url_key, pk = self.locate(resource, raw)
        ctx = WriteContext(call.user)
        self.require(call, "change" if pk is not None else "add", resource.table)
        with self.transaction():
            pk = self.save(resource, body, ctx, key=pk, url_key=url_key)
        created = bool(ctx.created) and ctx.created[0][1] == pk
        return self.answer(resource, pk, call, 201 if created else 204, created=created)

    def patch_detail(self, resource: Resource, call, raw):
        body = self.body(call)
        _, pk = self.locate(resource, raw)
        if pk is None:
            raise not_found()
        self.require(call, "change", resource.table)
        ctx = WriteContext(call.user)
        with self.transaction():
            self.save(resource, body, ctx, key=pk)
        return self.answer(resource, pk, call, 202)

    def delete_detail(self, resource: Resource, call, raw):
        _, pk = self.locate(resource, raw)
        if pk is None:
            raise not_found()
        self.require(call, "delete", resource.table)
        with self.transaction():
            folders = self.delete_rows(resource, [pk])
        self.remove_folders(folders)
        return Response(204)

    # -- results custom endpoints ----------------------------------------------------------------
    def results_metadata(self, call, row):
        """POST results/{pk}/metadata/: remove the `remove` keys, then merge `metadata` → 202."""
        body = self.body(call)
        metadata, remove = body.get("metadata") or {}, body.get("remove") or []
        if not isinstance(metadata, dict) or not isinstance(remove, list):
            raise bad_request("Send {\"metadata\": {key: value, ...}, \"remove\": [key, ...]}.")
        self.require(call, "change", "results")
        model = self.store.model("results")
        with self.transaction():
            current = model.select(column(model, "metaData")).where(column(model, "id") == row["id"]).scalar()
            current = dict(current) if isinstance(current, dict) else {}
            for name in remove:
                current.pop(str(name), None)
            current.update(metadata)
            model.update({column(model, "metaData"): current}).where(column(model, "id") == row["id"]).execute()
        return Response(202)

    def results_pluginstore(self, call, row):
        """PUT results/{pk}/pluginstore/ {pluginName: store}: all plugins found or nothing written → 202."""
        from torrentlite.api.write_hooks import set_plugin_stores

        body = self.body(call)
        self.require(call, "change", "pluginresult")
        with self.transaction():
            set_plugin_stores(self, call, row, body)
        return Response(202)
