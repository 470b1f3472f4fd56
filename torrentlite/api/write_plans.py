"""What saving a plan does beyond its own row: the experiment, its analysis settings, samples, projects.

As on the real server, only `plannedexperiment/` and its full views create and update the plan's
experiment and analysis settings; they show experiment and EAS values under plan-style names
(`chipType`, `library`, `barcodeId`…) and on input those names write them. `plannedexperimentdb/`
also takes projects and sample sets by name; the summary views write the plan row alone.
"""
from __future__ import annotations

import random
import string
import uuid

from torrentlite import __version__
from torrentlite.api.computed_plans import _FROM_EAS, _FROM_EXPERIMENT
from torrentlite.api.errors import bad_request
from torrentlite.api.write_hydrate import WriteContext, convert, parse_bool
from torrentlite.store import layout
from torrentlite.store.fields import utcnow
from torrentlite.store.load import set_links
from torrentlite.store.models import column, fk_column

# The real plan resource and its subclasses; every other plan view is a plain model resource.
PLAN_CREATING = layout.PLAN_FULL_VIEWS + ("availableionchefplannedexperiment",)
SHORT_ID_CHARS = string.ascii_uppercase + string.digits
# Keys only the plan endpoints read (not fields of any plan resource's table).
PLAN_ONLY_KEYS = ("projects", "project", "sample", "include_plugin_default_selection", "sampleSetDisplayedName",
                  "applicationGroupDisplayedName", "sampleGroupingName")


def _short_id(store) -> str:
    model = store.model("plannedexperiment")
    field = column(model, "planShortID")
    rng = random.SystemRandom()
    while True:
        candidate = "".join(rng.choice(SHORT_ID_CHARS) for _ in range(5))
        if not model.select(field).where(field == candidate).exists():
            return candidate


def _names(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    if isinstance(value, list) and all(isinstance(n, str) for n in value):
        return [n.strip() for n in value if n.strip()]
    raise bad_request("The 'projects' field expects project names: a string or a list of strings.")


class PlanRowHooks:
    """The plan row as the real plan model's save fills it in; what every plan resource does on a write.

    A given short ID or GUID is kept, an empty one generated; `date` is the time of the save.
    The summary views (`plantemplatesummary/` …) are plain writes to the plan table like this.
    """

    def __init__(self, handler):
        self.handler = handler
        self.store = handler.store
        self.registry = handler.registry

    def before(self, resource, body: dict, ctx: WriteContext, key):
        body = dict(body)
        ctx.plan_extra = self.extra_keys(body)
        values = {"date": utcnow()}
        if key is None:
            name = body.get("planName")
            if not isinstance(name, str) or not name.strip():
                raise bad_request("The 'planName' field has no data and doesn't allow a null value.")
            body.setdefault("planDisplayedName", name)
            if not body.get("planStatus"):
                reusable = parse_bool(body.get("isReusable") or False, "isReusable")
                chef = self._is_chef_kit(body.get("templatingKitName")) and not reusable
                body["planStatus"] = "pending" if chef else "planned"
        for name, make in (("planShortID", lambda: _short_id(self.store)), ("planGUID", lambda: str(uuid.uuid4())),
                           ("runType", lambda: "GENS")):
            if (key is None or name in body) and not body.get(name):
                body.pop(name, None)
                values[name] = make()
        if isinstance(body.get("planName"), str):
            body["planName"] = body["planName"].strip().replace(" ", "_")
        return body, values

    def extra_keys(self, body: dict) -> dict:
        """Keys this resource reads beyond its fields, taken out of `body`."""
        return {}

    def after(self, resource, pk, body: dict, ctx: WriteContext, created: bool) -> None:
        return None

    def _is_chef_kit(self, name) -> bool:
        if not isinstance(name, str) or not name:
            return False
        kits = self.store.model("kitinfo")
        return kits.select().where(column(kits, "name") == name,
                                   column(kits, "kitType") == "IonChefPrepKit").exists()


class PlanDbHooks(PlanRowHooks):
    """`plannedexperimentdb/`: the plan row, its projects by name and its sample sets by displayed name."""

    KEYS = ("projects", "project", "sampleSetDisplayedName")

    def extra_keys(self, body: dict) -> dict:
        return {k: body.pop(k) for k in self.KEYS if k in body}

    def after(self, resource, pk, body: dict, ctx: WriteContext, created: bool) -> None:
        extra = getattr(ctx, "plan_extra", {})
        if "projects" in extra or "project" in extra:
            names = _names(extra.get("projects")) + _names(extra.get("project"))
            self._projects(pk, names, ctx)
        if "sampleSetDisplayedName" in extra:
            self._sample_sets(pk, extra["sampleSetDisplayedName"])

    def _sample_sets(self, plan_id: int, value) -> None:
        names = _names(value) if value else []
        ids = [self._by_name("sampleset", ("displayedName",), n, "sampleSetDisplayedName") for n in names]
        set_links(self.store, "plannedexperiment", "sampleSets", plan_id, ids)

    def _by_name(self, table: str, columns: tuple, value: str, field: str) -> int:
        model = self.store.model(table)
        for name in columns:
            found = model.select(column(model, "id")).where(column(model, name) == value).scalar()
            if found is not None:
                return found
        raise bad_request(f"The '{field}' field names no {table} called '{value}'.")

    def _projects(self, plan_id: int, names: list[str], ctx: WriteContext) -> None:
        model = self.store.model("project")
        ids = []
        for name in dict.fromkeys(names):
            found = model.select(column(model, "id")).where(column(model, "name") == name).scalar()
            if found is None:
                self.handler.hydrator.require(ctx, "add", "project")
                now = utcnow()
                found = model.insert({column(model, "name"): name, column(model, "public"): True,
                                      column(model, "created"): now, column(model, "modified"): now,
                                      column(model, fk_column("creator")): getattr(ctx.user, "id", None)}).execute()
            ids.append(found)
        set_links(self.store, "plannedexperiment", "projects", plan_id, ids)


class PlanHooks(PlanDbHooks):
    """`plannedexperiment/` and its views: also the plan's experiment, analysis settings, samples, QC values."""

    def before(self, resource, body: dict, ctx: WriteContext, key):
        body, values = super().before(resource, body, ctx, key)
        if key is None:
            body["origin"] = f"{body.get('origin') or 'api'}|{__version__}"
        return body, values

    def extra_keys(self, body: dict) -> dict:
        extra = {k: body.pop(k) for k in PLAN_ONLY_KEYS if k in body}
        extra["qc"] = {name: body.pop(name) for name in self._qc_names() if name in body}
        extra.update({k: body[k] for k in list(_FROM_EXPERIMENT) + list(_FROM_EAS) if k in body})
        return extra

    def after(self, resource, pk, body: dict, ctx: WriteContext, created: bool) -> None:
        super().after(resource, pk, body, ctx, created)
        extra = getattr(ctx, "plan_extra", {})
        plan = self.store.model("plannedexperiment")
        row = plan.select().where(column(plan, "id") == pk).dicts().first()
        experiment_id = self._experiment(pk, row, extra)
        self._eas(experiment_id, extra, created)
        if "sample" in extra or "barcodedSamples" in extra:
            self._samples(experiment_id, extra)
        self._named_links(pk, extra)
        if extra.get("qc"):
            self._qc_thresholds(pk, extra["qc"])

    # -- conveniences: links given by name, QC thresholds as top-level keys ---------------------------
    def _qc_names(self) -> list[str]:
        model = self.store.model("qctype")
        return [name for (name,) in model.select(column(model, "qcName")).tuples()]

    def _named_links(self, plan_id: int, extra: dict) -> None:
        """`applicationGroupDisplayedName` and `sampleGroupingName` set those links."""
        plan = self.store.model("plannedexperiment")
        links = {}
        if extra.get("applicationGroupDisplayedName"):
            links["applicationGroup"] = self._by_name("applicationgroup", ("description", "name"),
                                                      str(extra["applicationGroupDisplayedName"]),
                                                      "applicationGroupDisplayedName")
        if extra.get("sampleGroupingName"):
            links["sampleGrouping"] = self._by_name("samplegrouptype_cv", ("displayedName",),
                                                    str(extra["sampleGroupingName"]), "sampleGroupingName")
        if links:
            plan.update({column(plan, fk_column(k)): v for k, v in links.items()}).where(
                column(plan, "id") == plan_id).execute()

    def _qc_thresholds(self, plan_id: int, thresholds: dict) -> None:
        """Keys named after a QC type (e.g. "Bead Loading (%)": 30) set the plan's threshold for it."""
        types = self.store.model("qctype")
        qc = self.store.model("plannedexperimentqc")
        plan_fk, type_fk = column(qc, fk_column("plannedExperiment")), column(qc, fk_column("qcType"))
        for name, raw in thresholds.items():
            value = convert(self.registry.tables["plannedexperimentqc"].columns["threshold"], raw, name)
            type_id = types.select(column(types, "id")).where(column(types, "qcName") == name).scalar()
            existing = qc.select(column(qc, "id")).where(plan_fk == plan_id, type_fk == type_id).scalar()
            if existing is None:
                qc.insert({plan_fk: plan_id, type_fk: type_id, column(qc, "threshold"): value}).execute()
            else:
                qc.update({column(qc, "threshold"): value}).where(column(qc, "id") == existing).execute()

    # -- experiment and EAS -------------------------------------------------------------------------
    def _converted(self, table: str, mapping: dict, extra: dict) -> dict:
        columns = self.registry.tables[table].columns
        values = {}
        for key, col in mapping.items():
            if key in extra and col in columns and extra[key] is not None:
                values[col] = convert(columns[col], extra[key], key)
        return values

    def _update_latest(self, table: str, link: str, parent_id: int, values: dict):
        """The newest row of `table` whose `link` points at `parent_id`, updated with `values`; None if none."""
        model = self.store.model(table)
        existing = model.select(column(model, "id")).where(column(model, fk_column(link)) == parent_id).order_by(
            column(model, "id").desc()).scalar()
        if existing is not None and values:
            model.update({column(model, c): v for c, v in values.items()}).where(
                column(model, "id") == existing).execute()
        return existing

    def _experiment(self, plan_id, plan_row: dict, extra: dict) -> int:
        model = self.store.model("experiment")
        values = self._converted("experiment", _FROM_EXPERIMENT, extra)
        existing = self._update_latest("experiment", "plan", plan_id, values)
        if existing is not None:
            return existing
        guid = plan_row.get("planGUID") or str(uuid.uuid4())
        row = {"expName": guid, "unique": guid, "status": plan_row.get("planStatus") or "planned",
               "chipType": "", "flows": 0, "cycles": 0, "expDir": "", "pgmName": "", "date": utcnow(),
               "displayName": plan_row.get("planShortID") or "", "runMode": plan_row.get("runMode") or "",
               "storage_options": plan_row.get("storage_options") or "A",
               fk_column("plan"): plan_id, **values}
        if "chipType" in values:
            row["chipType"] = str(values["chipType"]).replace('"', "")
        return model.insert({column(model, c): v for c, v in row.items()}).execute()

    def _eas(self, experiment_id: int, extra: dict, created: bool) -> None:
        model = self.store.model("experimentanalysissettings")
        exp_fk = column(model, fk_column("experiment"))
        values = self._converted("experimentanalysissettings", _FROM_EAS, extra)
        if self._update_latest("experimentanalysissettings", "experiment", experiment_id, values) is not None:
            return
        config = self.store.model("globalconfig")
        defaults = config.select(column(config, "default_library_key"), column(config, "default_test_fragment_key")) \
            .order_by(column(config, "id")).tuples().first() or ("", "")
        row = {"libraryKey": defaults[0] or "", "tfKey": defaults[1] or "", "status": "plan", "isEditable": True,
               "date": utcnow(), "barcodedSamples": {}, "selectedPlugins": {}, exp_fk.column_name: experiment_id,
               **values}
        include_defaults = parse_bool(extra.get("include_plugin_default_selection", True),
                                      "include_plugin_default_selection")
        if include_defaults:
            row["selectedPlugins"] = self._with_default_plugins(row["selectedPlugins"])
        model.insert({column(model, c): v for c, v in row.items()}).execute()

    def _with_default_plugins(self, selected):
        plugin = self.store.model("plugin")
        rows = plugin.select().where(column(plugin, "defaultSelected") == 1, column(plugin, "active") == 1) \
            .order_by(column(plugin, "name"), column(plugin, "id").desc()).dicts()
        defaults = {}
        for p in rows:
            defaults.setdefault(p["name"], {"id": p["id"], "name": p["name"], "version": p["version"],
                                            "userInput": {}, "features": []})
        if isinstance(selected, list):
            have = {item.get("name") for item in selected if isinstance(item, dict)}
            return selected + [v for n, v in defaults.items() if n not in have]
        merged = dict(defaults)
        merged.update(selected or {})
        return merged

    # -- samples and projects ----------------------------------------------------------------------
    def _sample_id(self, name: str) -> int:
        model = self.store.model("sample")
        found = model.select(column(model, "id")).where(column(model, "name") == name).scalar()
        if found is not None:
            return found
        return model.insert({column(model, "name"): name.replace(" ", "_"), column(model, "displayedName"): name,
                             column(model, "status"): "planned", column(model, "externalId"): "",
                             column(model, "description"): "", column(model, "date"): utcnow()}).execute()

    def _samples(self, experiment_id: int, extra: dict) -> None:
        names = []
        if isinstance(extra.get("sample"), str) and extra["sample"].strip():
            names.append(extra["sample"].strip())
        barcoded = extra.get("barcodedSamples")
        if isinstance(barcoded, dict):
            names += [str(n) for n in barcoded]
        ids = [self._sample_id(n) for n in names]
        set_links(self.store, "experiment", "samples", experiment_id, ids)


def plan_hooks(handler, resource):
    """The hooks of one resource over the plan table."""
    if resource.name in PLAN_CREATING:
        return PlanHooks(handler)
    if resource.name == "plannedexperimentdb":
        return PlanDbHooks(handler)
    return PlanRowHooks(handler)
