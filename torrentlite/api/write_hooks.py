"""Per-table rules applied around the generic save: plans, plugin results, plugin stores."""
from __future__ import annotations

from torrentlite.api.errors import bad_request
from torrentlite.api.write_hydrate import WriteContext
from torrentlite.api.write_plans import plan_hooks
from torrentlite.store.models import column, fk_column


class NoHooks:
    """The generic save: the body as given, nothing else written."""

    def __init__(self, handler=None):
        self.handler = handler

    def before(self, resource, body: dict, ctx: WriteContext, key):
        return body, {}

    def after(self, resource, pk, body: dict, ctx: WriteContext, created: bool) -> None:
        return None


class PluginResultHooks(NoHooks):
    """`owner` is the requesting user (a superuser may name another); plugin/result/owner never change."""

    def before(self, resource, body: dict, ctx: WriteContext, key):
        body = dict(body)
        if key is not None:
            for name in ("plugin", "result", "owner"):
                body.pop(name, None)
            return body, {}
        if not (getattr(ctx.user, "is_superuser", False) and body.get("owner")):
            body.pop("owner", None)
            return body, {fk_column("owner"): ctx.user.id}
        return body, {}


class PluginHooks(NoHooks):
    """A plugin's `path` is where the server installed it: read-only, like the files it names."""

    def before(self, resource, body: dict, ctx: WriteContext, key):
        return {k: v for k, v in body.items() if k != "path"}, {}


class ResultsHooks(NoHooks):
    """A new report without a storage goes to the default report storage (the API does not show it).

    A report that reaches "Completed" (created so, or changed to it) tells the api's
    `result_completed` listeners once the write has committed: that is when the real pipeline
    launches the plan's plugins.
    """

    was_completed = False

    def before(self, resource, body: dict, ctx: WriteContext, key):
        if key is not None:
            model = self.handler.store.model("results")
            status = model.select(column(model, "status")).where(column(model, "id") == key).scalar()
            self.was_completed = status == "Completed"
            return body, {}
        model = self.handler.store.model("reportstorage")
        storage = model.select(column(model, "id")).order_by(column(model, "default").desc(),
                                                            column(model, "id")).scalar()
        return body, ({fk_column("reportstorage"): storage} if storage is not None else {})


    def after(self, resource, pk, body: dict, ctx: WriteContext, created: bool) -> None:
        if body.get("status") == "Completed" and not self.was_completed:
            for listener in self.handler.api.result_completed:
                self.handler.after_commit(lambda listener=listener: listener(pk))


_HOOKS = {"plugin": PluginHooks, "pluginresult": PluginResultHooks, "results": ResultsHooks}


def hooks_for(handler, resource):
    if resource.table == "plannedexperiment":
        return plan_hooks(handler, resource)
    return _HOOKS.get(resource.table, NoHooks)(handler)


def set_plugin_stores(handler, call, result_row: dict, body: dict) -> None:
    """Set `store` of each named plugin's result on this report (creating it); 400 if any name is unknown.

    Runs inside the caller's transaction, so one unknown plugin leaves every store as it was.
    """
    store = handler.store
    plugins = store.model("plugin")
    prs = store.model("pluginresult")
    for name, value in body.items():
        if not isinstance(value, dict):
            raise bad_request(f"The store of plugin '{name}' must be a JSON object.")
        plugin_id = plugins.select(column(plugins, "id")).where(
            column(plugins, "name") == name, column(plugins, "active") == 1).order_by(
            column(plugins, "id").desc()).scalar()
        if plugin_id is None:
            raise bad_request(f"No active plugin named '{name}'; nothing was stored.")
        where = (column(prs, fk_column("result")) == result_row["id"]) & \
            (column(prs, fk_column("plugin")) == plugin_id)
        pr_id = prs.select(column(prs, "id")).where(where).order_by(column(prs, "id").desc()).scalar()
        if pr_id is None:
            handler.require(call, "add", "pluginresult")
            prs.insert({column(prs, fk_column("result")): result_row["id"],
                        column(prs, fk_column("plugin")): plugin_id,
                        column(prs, fk_column("owner")): call.user.id, column(prs, "store"): value}).execute()
        else:
            prs.update({column(prs, "store"): value}).where(column(prs, "id") == pr_id).execute()
