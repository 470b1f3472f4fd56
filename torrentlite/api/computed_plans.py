"""The plan views' computed fields: values pulled from the plan's experiment and latest EAS."""
from __future__ import annotations

from torrentlite.api.computed import _exp_sample, _fk, _pks
from torrentlite.api.represent import Context, computes, detail_uri, wire_value
from torrentlite.store import layout
from torrentlite.store.models import fk_column

_FULL = layout.PLAN_FULL_VIEWS
_WITH_PROJECTS = _FULL + ("plannedexperimentdb",)

# plan view key -> experiment column
_FROM_EXPERIMENT = {"autoAnalyze": "autoAnalyze", "chipType": "chipType", "chipBarcode": "chipBarcode",
                    "flows": "flows", "flowsInOrder": "flowsInOrder", "notes": "notes",
                    "sequencekitname": "sequencekitname", "platform": "platform"}
# plan view key -> EAS column
_FROM_EAS = {"barcodedSamples": "barcodedSamples", "barcodeId": "barcodeKitName", "bedfile": "targetRegionBedFile",
             "regionfile": "hotSpotRegionBedFile", "forward3primeadapter": "threePrimeAdapter",
             "library": "reference", "libraryKey": "libraryKey", "tfKey": "tfKey",
             "librarykitname": "libraryKitName", "isDuplicateReads": "isDuplicateReads",
             "base_recalibration_mode": "base_recalibration_mode", "realign": "realign",
             "sseBedFile": "sseBedFile", "selectedPlugins": "selectedPlugins", "custom_args": "custom_args",
             **{k: k for k in layout.ANALYSIS_ARG_KEYS}}
_EMPTY = {"barcodedSamples": {}, "selectedPlugins": {}, "isDuplicateReads": False, "realign": False,
          "custom_args": False, "autoAnalyze": True, "flows": 0}


def plan_context(ctx: Context, rows) -> dict:
    """Per page: each plan's experiment, latest EAS, projects, sample sets and named relations."""
    def load():
        plan_ids = _pks(rows)
        experiments = {}
        for plan_id, exps in ctx.children("experiment", "plan", plan_ids).items():
            experiments[plan_id] = exps[-1]
        eas_groups = ctx.children("experimentanalysissettings", "experiment",
                                  [e["id"] for e in experiments.values()])
        latest_eas = {eid: group[0] for eid, group in eas_groups.items()}
        tables = ctx.store.registry.tables["plannedexperiment"]
        project_links = ctx.linked("plannedexperiment", "projects", tables.links["projects"], plan_ids)
        projects = ctx.rows_by_pk("project", {p for g in project_links.values() for p in g})
        set_links = ctx.linked("plannedexperiment", "sampleSets", tables.links["sampleSets"], plan_ids)
        sets = ctx.rows_by_pk("sampleset", {s for g in set_links.values() for s in g})
        groups = ctx.rows_by_pk("applicationgroup", _fk(rows, "applicationGroup"))
        groupings = ctx.rows_by_pk("samplegrouptype_cv", _fk(rows, "sampleGrouping"))
        chips = {c["name"]: c for c in ctx.fetch("chip")}
        samples = dict(zip([e["id"] for e in experiments.values()],
                           _exp_sample(ctx, list(experiments.values())))) if experiments else {}
        return {"experiment": experiments, "eas": latest_eas, "project_links": project_links,
                "projects": projects, "set_links": set_links, "sets": sets, "groups": groups,
                "groupings": groupings, "chips": chips, "samples": samples}
    return ctx.memo(("plan_ctx", id(rows)), load)


def _project_names(pc, plan_id):
    return sorted(pc["projects"][p]["name"] for p in pc["project_links"].get(plan_id, []) if p in pc["projects"])


@computes(_WITH_PROJECTS, "project", "projects", "parentPlan", "childPlans")
def _plan_projects(ctx, rows):
    pc = plan_context(ctx, rows)
    out = []
    for row in rows:
        names = _project_names(pc, row["id"])
        out.append({"projects": names, "project": names[0] if names else "", "parentPlan": None,
                    "childPlans": []})
    return out


_FULL_KEYS = tuple(k for k in layout.PLAN_FULL_COMPUTED if k not in ("project", "projects", "parentPlan",
                                                                       "childPlans"))


@computes(_FULL, *(_FULL_KEYS + layout.ANALYSIS_ARG_KEYS + ("custom_args",)))
def _plan_full(ctx, rows):
    pc = plan_context(ctx, rows)
    out = []
    for row in rows:
        exp = pc["experiment"].get(row["id"]) or {}
        eas = pc["eas"].get(exp.get("id")) or {}
        values = {}
        for key, col in _FROM_EXPERIMENT.items():
            values[key] = wire_value(exp.get(col, _EMPTY.get(key, "")))
        for key, col in _FROM_EAS.items():
            values[key] = wire_value(eas.get(col, _EMPTY.get(key, "")))
        chef = {k: wire_value(v) for k, v in exp.items() if k.startswith("chef")}
        values["chefInfo"] = chef if exp.get("chefInstrumentName") else {}
        plugins = eas.get("selectedPlugins") or {}
        caller = plugins.get("variantCaller") if isinstance(plugins, dict) else None
        values["variantfrequency"] = ((caller or {}).get("userInput") or {}).get("variationtype", "") \
            if isinstance(caller, dict) and isinstance(caller.get("userInput"), dict) else ""
        barcoded = bool(eas.get("barcodeKitName"))
        sample = "" if barcoded else pc["samples"].get(exp.get("id"), "")
        values["sample"] = sample
        values["sampleDisplayedName"] = sample
        sets = [pc["sets"][s] for s in pc["set_links"].get(row["id"], []) if s in pc["sets"]]
        values["sampleSetDisplayedName"] = ",".join(s.get("displayedName", "") for s in sets)
        first_set = sets[0] if sets else {}
        values["libraryPrepType"] = first_set.get("libraryPrepType", "")
        values["libraryPrepTypeDisplayedName"] = first_set.get("libraryPrepType", "")
        group = pc["groups"].get(row.get(fk_column("applicationGroup"))) or {}
        values["applicationGroupDisplayedName"] = group.get("description", "")
        values["applicationCategoryDisplayedName"] = ""
        grouping = pc["groupings"].get(row.get(fk_column("sampleGrouping"))) or {}
        values["sampleGroupingName"] = grouping.get("displayedName", "")
        chip = pc["chips"].get(exp.get("chipType")) or {}
        values["earlyDatFileDeletion"] = chip.get("earlyDatFileDeletion") in ("1", "True", "true", True)
        values["reverse3primeadapter"] = ""
        values["reverselibrarykey"] = ""
        out.append(values)
    return out


_BASIC = ("reference", "hotSpotRegionBedFile", "targetRegionBedFile", "barcodeKitName")


@computes("plantemplatebasicinfo", "eas", "notes", "applicationGroupDisplayedName",
          "applicationCategoryDisplayedName", "sampleGroupName", "sequencingInstrumentType",
          "templatePrepInstrumentType", "irAccountName", *_BASIC)
def _plan_basic(ctx, rows):
    pc = plan_context(ctx, rows)
    kits = {k["name"]: k for k in ctx.fetch("kitinfo")}
    out = []
    for row in rows:
        exp = pc["experiment"].get(row["id"]) or {}
        eas = pc["eas"].get(exp.get("id")) or {}
        group = pc["groups"].get(row.get(fk_column("applicationGroup"))) or {}
        grouping = pc["groupings"].get(row.get(fk_column("sampleGrouping"))) or {}
        kit = kits.get(row.get("templatingKitName")) or {}
        prep = {"IonChefPrepKit": "IonChef", "TemplatingKit": "OneTouch"}.get(kit.get("kitType"), "")
        if kit.get("kitType") == "TemplatingKit" and "IA" in (kit.get("samplePrep_instrumentType") or ""):
            prep = "Isothermal Amplification"
        plugins = eas.get("selectedPlugins") or {}
        uploader = plugins.get("IonReporterUploader") if isinstance(plugins, dict) else None
        account = ""
        if isinstance(uploader, dict) and isinstance(uploader.get("userInput"), dict):
            account = str(uploader["userInput"].get("accountName", ""))
        values = {k: eas.get(k, "") for k in _BASIC}
        values.update({
            "eas": detail_uri("experimentanalysissettings", eas["id"]) if eas else None,
            "notes": exp.get("notes") or "", "applicationGroupDisplayedName": group.get("description", ""),
            "applicationCategoryDisplayedName": "", "sampleGroupName": grouping.get("displayedName", ""),
            "sequencingInstrumentType": (exp.get("platform") or "").lower(),
            "templatePrepInstrumentType": prep, "irAccountName": account,
        })
        out.append(values)
    return out
