"""Fields the API computes from related rows and from files on disk (§3.4 of the behaviour notes)."""
from __future__ import annotations

import os
from pathlib import Path

from peewee import fn

from torrentlite.api.represent import Context, computes, wire_value
from torrentlite.store import layout
from torrentlite.store.paths import report_dir
from torrentlite.store.models import column, fk_column

_PLAN_FULL = layout.PLAN_FULL_VIEWS


def _fk(rows, name):
    return [row.get(fk_column(name)) for row in rows]


def _pks(rows):
    return [row["id"] for row in rows]


# -- results ------------------------------------------------------------------------------------
def result_report_dirs(ctx: Context, rows) -> list[str]:
    storages = ctx.rows_by_pk("reportstorage", _fk(rows, "reportstorage"))
    return [report_dir(storages.get(row.get(fk_column("reportstorage"))), row.get("reportLink") or "")
            for row in rows]


@computes("results", "filesystempath")
def _filesystempath(ctx, rows):
    return result_report_dirs(ctx, rows)


_RESULT_EXPERIMENT_COLUMNS = ("id", "expName", "plan_id", "log")


@computes("results", "bamLink")
def _bam_link(ctx, rows):
    experiments = ctx.rows_by_pk("experiment", _fk(rows, "experiment"), _RESULT_EXPERIMENT_COLUMNS)
    out = []
    for row in rows:
        exp = experiments.get(row.get(fk_column("experiment"))) or {}
        link = row.get("reportLink") or ""
        out.append(f"{link}download_links/{exp.get('expName', '')}_{row.get('resultsName', '')}.bam")
    return out


@computes("results", "planShortID")
def _plan_short_id(ctx, rows):
    """What the instrument logged (the run's plan, else its pending Chef plan); never the plan row itself."""
    experiments = ctx.rows_by_pk("experiment", _fk(rows, "experiment"), _RESULT_EXPERIMENT_COLUMNS)
    out = []
    for row in rows:
        log = (experiments.get(row.get(fk_column("experiment"))) or {}).get("log")
        log = log if isinstance(log, dict) else {}
        out.append(log["planned_run_short_id"] if "planned_run_short_id" in log
                   else log.get("pending_run_short_id", ""))
    return out


def _plugin_results_by_result(ctx, rows):
    def load():
        grouped = ctx.children("pluginresult", "result", _pks(rows))
        plugins = ctx.rows_by_pk("plugin", [pr.get(fk_column("plugin")) for g in grouped.values() for pr in g])
        states = plugin_result_states(ctx, [pr for g in grouped.values() for pr in g])
        return grouped, plugins, states
    return ctx.memo(("pr_by_result", id(rows)), load)


def _plugin_detail_field(ctx, rows, pick):
    if not (ctx.detail or ctx.param("plugin") in ("true", "True", "1")) or ctx.param("noplugin") in ("true", "True"):
        return None
    grouped, plugins, states = _plugin_results_by_result(ctx, rows)
    out = []
    for row in rows:
        values = {}
        for pr in sorted(grouped.get(row["id"], []), key=lambda r: r["id"]):
            plugin = plugins.get(pr.get(fk_column("plugin"))) or {}
            values[plugin.get("name", "")] = pick(pr, states)
        out.append(values)
    return out


@computes("results", "pluginState")
def _plugin_state(ctx, rows):
    return _plugin_detail_field(ctx, rows, lambda pr, states: states[pr["id"]])


@computes("results", "pluginStore")
def _plugin_store(ctx, rows):
    return _plugin_detail_field(ctx, rows, lambda pr, states: pr.get("store") or {})


# -- experiment ---------------------------------------------------------------------------------
@computes(("experiment",), "runtype")
def _exp_runtype(ctx, rows):
    plans = ctx.rows_by_pk("plannedexperiment", _fk(rows, "plan"))
    return [(row.get("log") or {}).get("runtype") or (plans.get(row.get(fk_column("plan"))) or {}).get("runType", "")
            for row in rows]


@computes("experiment", "isProton")
def _is_proton(ctx, rows):
    return [str((row.get("platform") or "").lower() == "proton"
                or (row.get("chipType") or "").startswith(("P1", "P2", "900"))) for row in rows]


def _samples_by_experiment(ctx, rows):
    link = ctx.store.registry.tables["experiment"].links["samples"]
    groups = ctx.linked("experiment", "samples", link, _pks(rows))
    samples = ctx.rows_by_pk("sample", {s for g in groups.values() for s in g})
    return {eid: [samples[s] for s in sorted(g) if s in samples] for eid, g in groups.items()}


@computes("experiment", "sample")
def _exp_sample(ctx, rows):
    by_exp = _samples_by_experiment(ctx, rows)
    return [(by_exp.get(row["id"]) or [{}])[0].get("name", "") for row in rows]


# -- small ones ---------------------------------------------------------------------------------
@computes("project", "resultsCount")
def _results_count(ctx, rows):
    join = ctx.store.model("results_projects")
    counts = dict(join.select(join.dst_id, fn.COUNT(join.id)).where(join.dst_id.in_(_pks(rows)))
                  .group_by(join.dst_id).tuples())
    return [counts.get(row["id"], 0) for row in rows]


@computes("user", "full_name")
def _full_name(ctx, rows):
    return [" ".join(p for p in (row.get("first_name"), row.get("last_name")) if p) for row in rows]


@computes("sequencingkitpart", "defaultFlowOrder")
def _no_flow_order(ctx, rows):
    return [None for _ in rows]


@computes("contentupload", "pub")
def _publisher_name(ctx, rows):
    # Uploads live in <uploads>/<publisher>/<upload id>/<file>.
    return [Path(row.get("file_path") or "").parent.parent.name for row in rows]


@computes("sampleattribute", "dataType_name", "sampleCount")
def _sample_attribute(ctx, rows):
    types = ctx.rows_by_pk("sampleattributedatatype", _fk(rows, "dataType"))
    return [{"dataType_name": (types.get(row.get(fk_column("dataType"))) or {}).get("dataType", ""),
             "sampleCount": 0} for row in rows]


@computes("sampleset", "sampleCount", "sampleGroupTypeName", "libraryPrepTypeDisplayedName",
          "libraryPrepKitDisplayedName")
def _sampleset(ctx, rows):
    items = ctx.children("samplesetitem", "sampleSet", _pks(rows), link_only=True)
    groups = ctx.rows_by_pk("samplegrouptype_cv", _fk(rows, "SampleGroupType_CV"))
    kits = {r["name"]: r for r in ctx.fetch("kitinfo", column(ctx.store.model("kitinfo"), "name").in_(
        [row.get("libraryPrepKitName") for row in rows if row.get("libraryPrepKitName")]))}
    out = []
    for row in rows:
        group = groups.get(row.get(fk_column("SampleGroupType_CV"))) or {}
        kit = kits.get(row.get("libraryPrepKitName")) or {}
        out.append({"sampleCount": len(items.get(row["id"], [])),
                    "sampleGroupTypeName": group.get("displayedName", ""),
                    "libraryPrepTypeDisplayedName": row.get("libraryPrepType", ""),
                    "libraryPrepKitDisplayedName": kit.get("description", "")})
    return out


@computes("datamanagementhistory", "resultsName")
def _dm_results_name(ctx, rows):
    results = ctx.rows_by_pk("results", [row.get("object_pk") for row in rows])
    return [(results.get(row.get("object_pk")) or {}).get("resultsName", "") for row in rows]


@computes("clusterinfohistory", "name")
def _cluster_name(ctx, rows):
    return [str(row.get("object_pk") or "") for row in rows]


@computes("samplesetiteminfo", "sampleSetPk", "sampleSetStatus", "samplePk", "sampleExternalId",
          "sampleDisplayedName", "sampleDescription", "dnabarcode", "dnabarcodeKit")
def _sampleset_item_info(ctx, rows):
    sets = ctx.rows_by_pk("sampleset", _fk(rows, "sampleSet"))
    samples = ctx.rows_by_pk("sample", _fk(rows, "sample"))
    barcodes = ctx.rows_by_pk("dnabarcode", _fk(rows, "dnabarcode"))
    out = []
    for row in rows:
        sset = sets.get(row.get(fk_column("sampleSet"))) or {}
        sample = samples.get(row.get(fk_column("sample"))) or {}
        barcode = barcodes.get(row.get(fk_column("dnabarcode"))) or {}
        out.append({"sampleSetPk": sset.get("id"), "sampleSetStatus": sset.get("status", ""),
                    "samplePk": sample.get("id"), "sampleExternalId": sample.get("externalId", ""),
                    "sampleDisplayedName": sample.get("displayedName", ""),
                    "sampleDescription": sample.get("description", ""),
                    "dnabarcode": barcode.get("id_str", ""), "dnabarcodeKit": barcode.get("name", "")})
    return out


# -- chip: the chip's default analysis arguments --------------------------------------------------
@computes("chip", *layout.ANALYSIS_ARG_KEYS)
def _chip_args(ctx, rows):
    model = ctx.store.model("analysisargs")
    names = [row["name"] for row in rows]
    args = {}
    for a in ctx.fetch("analysisargs", column(model, "chipType").in_(names) & (column(model, "chip_default") == 1)):
        args.setdefault(a["chipType"], a)
    return [{k: (args.get(row["name"]) or {}).get(k, "") for k in layout.ANALYSIS_ARG_KEYS} for row in rows]


# -- plugin and plugin results ------------------------------------------------------------------
def _plugin_file(row, name):
    path = row.get("path") or ""
    return bool(path) and os.path.exists(os.path.join(path, name))


@computes("plugin", "isConfig", "isPlanConfig", "isInstance", "hasAbout", "input", "isSupported", "isUpgradable",
          "versionedName", "availableVersions")
def _plugin_flags(ctx, rows):
    out = []
    for row in rows:
        instance = _plugin_file(row, "instance.html")
        out.append({"isConfig": _plugin_file(row, "config.html"), "isPlanConfig": _plugin_file(row, "plan.html"),
                    "isInstance": instance, "hasAbout": _plugin_file(row, "about.html"), "input": str(instance),
                    "isSupported": False, "isUpgradable": False, "availableVersions": [],
                    "versionedName": f"{row.get('name')}--v{row.get('version')}"})
    return out


@computes("PluginResultJob", "usage", "reason")
def _job_usage(ctx, rows):
    return [{"usage": row.get("usage") or None, "reason": row.get("reason") or ""} for row in rows]


def plugin_result_states(ctx: Context, prs: list[dict]) -> dict[int, str]:
    """A plugin result's state: "Failed Validation", else its latest job's state, else "Unknown"."""
    jobs = ctx.children("PluginResultJob", "plugin_result", [pr["id"] for pr in prs])
    states = {}
    for pr in prs:
        if (pr.get("validation_errors") or {}).get("validation_errors"):
            states[pr["id"]] = "Failed Validation"
            continue
        pr_jobs = jobs.get(pr["id"], [])
        # Jobs not yet started sort first, as PostgreSQL orders NULL starttimes first in DESC.
        latest = max(pr_jobs, key=lambda j: (j.get("starttime") is None, j.get("starttime") or 0, j["id"]),
                     default=None)
        states[pr["id"]] = latest["state"] if latest else "Unknown"
    return states


def plugin_output_dir(report_dir: str, plugin_name: str, pr_id: int) -> str:
    return os.path.join(report_dir, "plugin_out", f"{plugin_name}_out.{pr_id}") if report_dir else ""


@computes("pluginresult", "major", "path", "URL", "files", "can_terminate", "state", "starttime", "endtime",
          "resultName", "reportLink", "pluginName", "pluginVersion")
def _plugin_result(ctx, rows):
    results = ctx.rows_by_pk("results", _fk(rows, "result"))
    plugins = ctx.rows_by_pk("plugin", _fk(rows, "plugin"))
    result_rows = list(results.values())
    dirs = dict(zip([r["id"] for r in result_rows], result_report_dirs(ctx, result_rows)))
    jobs = ctx.children("PluginResultJob", "plugin_result", _pks(rows))
    states = plugin_result_states(ctx, rows)
    out = []
    for row in rows:
        result = results.get(row.get(fk_column("result"))) or {}
        plugin = plugins.get(row.get(fk_column("plugin"))) or {}
        name = plugin.get("name", "")
        path = plugin_output_dir(dirs.get(result.get("id"), ""), name, row["id"])
        starts = [j["starttime"] for j in jobs.get(row["id"], []) if j.get("starttime")]
        ends = [j["endtime"] for j in jobs.get(row["id"], []) if j.get("endtime")]
        files = sorted(f for f in (os.listdir(path) if path and os.path.isdir(path) else ())
                       if f.endswith((".html", ".php")))
        out.append({
            "major": bool(plugin.get("majorBlock")), "path": path,
            "URL": f"{result.get('reportLink', '')}plugin_out/{name}_out.{row['id']}/",
            "files": files, "state": states[row["id"]],
            "can_terminate": any(j["state"] in ("Pending", "Queued", "Started") for j in jobs.get(row["id"], [])),
            "starttime": wire_value(min(starts)) if starts else None,
            "endtime": wire_value(max(ends)) if ends else None,
            "resultName": result.get("resultsName", ""), "reportLink": result.get("reportLink", ""),
            "pluginName": name, "pluginVersion": plugin.get("version", ""),
        })
    return out
