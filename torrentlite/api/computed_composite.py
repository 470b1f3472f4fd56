"""Computed fields of the run-browser views: compositeexperiment/result, monitorresult, data management."""
from __future__ import annotations

from torrentlite.api.computed import _fk, _pks
from torrentlite.datamgmt import state as dm_state
from torrentlite.datamgmt.filesets import PREFIX, SIG, TYPES
from torrentlite.api.represent import computes
from torrentlite.store.models import fk_column

_DM_CATEGORIES = tuple(PREFIX[t] for t in TYPES)


@computes("compositedatamanagement", "expDir", "expName", "in_process",
          *[f"{c}_{k}" for c in _DM_CATEGORIES for k in ("state", "keep", "diskspace")])
def _data_management(ctx, rows):
    experiments = ctx.rows_by_pk("experiment", _fk(rows, "experiment"))
    stats = dm_state.filestats_for(ctx.store.db, _pks(rows))
    out = []
    for row in rows:
        exp = experiments.get(row.get(fk_column("experiment"))) or {}
        values = {"expDir": exp.get("expDir", ""), "expName": exp.get("expName", ""), "in_process": False}
        by_type = stats.get(row["id"], {})
        for type_ in TYPES:
            prefix, stat = PREFIX[type_], by_type.get(type_)
            # A report without a row for a category shows it as the real server does: Unknown.
            values.update({f"{prefix}_state": "Unknown", f"{prefix}_keep": None, f"{prefix}_diskspace": None})
            if stat is None:
                continue
            values[f"{prefix}_state"] = stat.display
            values[f"{prefix}_diskspace"] = stat.diskspace
            if stat.action_state not in dm_state.DISPOSED:
                kept = exp.get("storage_options") == "KI" if type_ == SIG else stat.preserve_data
                values[f"{prefix}_keep"] = bool(kept)
            values["in_process"] = values["in_process"] or stat.action_state in dm_state.IN_PROCESS
        out.append(values)
    return out


def _status_display(status: str) -> str:
    if status in ("Completed", "Error"):
        return status
    if status and ("Error" in status or "Failed" in status):
        return "Error"
    if status in ("Started", "Pending", "Processing", "Transferring") or "Progress" in (status or ""):
        return "Progress"
    return "Other"


@computes("compositeresult", "analysis_metrics", "quality_metrics", "isShowAllMetrics", "status_display")
def _composite_result(ctx, rows):
    analysis = ctx.children("analysismetrics", "report", _pks(rows))
    quality = ctx.children("qualitymetrics", "report", _pks(rows))
    rep = ctx.store.registry["compositeresult"]
    objects = {}
    for name, groups in (("analysismetrics", analysis), ("qualitymetrics", quality)):
        shape = ctx.representer.nested_objects(rep.fields[name].target, name,
                                               [g[-1]["id"] for g in groups.values()], ctx,
                                               rows={g[-1]["id"]: g[-1] for g in groups.values()})
        objects[name] = {parent: shape.get(g[-1]["id"]) for parent, g in groups.items()}
    return [{"analysis_metrics": objects["analysismetrics"].get(row["id"]),
             "quality_metrics": objects["qualitymetrics"].get(row["id"]),
             "isShowAllMetrics": True, "status_display": _status_display(row.get("status") or "")}
            for row in rows]


def _eas_for(ctx, rows):
    return ctx.rows_by_pk("experimentanalysissettings", _fk(rows, "eas"))


@computes("monitorresult", "library", "barcodeId")
def _monitor(ctx, rows):
    eas = _eas_for(ctx, rows)
    return [{"library": (eas.get(row.get(fk_column("eas"))) or {}).get("reference", ""),
             "barcodeId": (eas.get(row.get(fk_column("eas"))) or {}).get("barcodeKitName", "")} for row in rows]


@computes("compositeexperiment", "_host", "applicationCategoryDisplayedName", "barcodeId", "barcodedSamples",
          "chipDescription", "chipInstrumentType", "keep", "library", "references", "sample",
          "sampleDisplayedName", "sampleSetName")
def _composite_experiment(ctx, rows):
    eas_groups = ctx.children("experimentanalysissettings", "experiment", _pks(rows))
    chips = {c["name"]: c for c in ctx.fetch("chip")}
    from torrentlite.api.computed import _samples_by_experiment

    samples = _samples_by_experiment(ctx, rows)
    out = []
    for row in rows:
        eas = (eas_groups.get(row["id"]) or [{}])[0]
        chip = chips.get(row.get("chipType")) or {}
        names = [s.get("displayedName") or s.get("name", "") for s in samples.get(row["id"], [])]
        out.append({
            # _host marks objects fetched from other servers of a mesh; local objects carry none.
            "_host": None,
            "applicationCategoryDisplayedName": "", "barcodeId": eas.get("barcodeKitName", ""),
            "barcodedSamples": eas.get("barcodedSamples") or {}, "chipDescription": chip.get("description", ""),
            "chipInstrumentType": chip.get("instrumentType", ""), "keep": row.get("storage_options") == "KI",
            "library": eas.get("reference", ""), "references": eas.get("reference", ""),
            "sample": names[0] if len(names) == 1 else "",
            "sampleDisplayedName": names[0] if len(names) == 1 else (f"{len(names)} Samples" if names else ""),
            "sampleSetName": "",
        })
    return out
