"""startplugin.json and barcodes.json for one plugin job, built from the database and the report folder."""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from torrentlite.store.paths import report_dir

from .docmemo import indented_json

log = logging.getLogger("torrentlite.runner")

BARCODES_NAME = "barcodes.json"
GLOBALCONFIG = {"debug": 0, "MEM_MAX": "15G"}
_CHEF_FIELDS = ("chefInstrumentName", "chefStatus", "chefProgress", "chefMessage", "chefLastUpdate",
                "chefReagentID", "chefReagentsPart", "chefReagentsLot", "chefReagentsExpiration",
                "chefSolutionsPart", "chefSolutionsLot", "chefSolutionsExpiration", "chefChipType1",
                "chefChipType2", "chefChipExpiration1", "chefChipExpiration2", "chefTipRackBarcode",
                "chefKitType", "chefSamplePos", "chefScriptVersion", "chefPackageVer", "chefManufactureDate",
                "chefExtraInfo_1", "chefExtraInfo_2", "chefLotNumber", "chefLogPath", "chefSolutionsExpiration")
_DM_CATEGORIES = ("Signal Processing Input", "Basecalling Input", "Output Files", "Intermediate Files")


def fetch(store, table: str, where: str, params=()) -> List[dict]:
    """Rows of ``table`` matching an SQL condition, values as the store reads them (JSON parsed)."""
    return store.reader.where(table, where, params)


def fetch_one(store, table: str, pk) -> Optional[dict]:
    if pk is None:
        return None
    rows = fetch(store, table, "id = ?", (pk,))
    return rows[0] if rows else None


@dataclass
class Report:
    """Everything about one result that startplugin.json and barcodes.json are made of."""

    result: dict
    experiment: dict = field(default_factory=dict)
    eas: dict = field(default_factory=dict)
    plan: dict = field(default_factory=dict)
    storage: dict = field(default_factory=dict)
    globalconfig: dict = field(default_factory=dict)
    ion_params: dict = field(default_factory=dict)
    dir: str = ""
    samples: List[dict] = field(default_factory=list)

    @property
    def pk(self) -> int:
        return int(self.result["id"])

    @property
    def report_type(self) -> str:
        """wholechip, thumbnail or composite (the pipeline's run type filter value)."""
        if self.ion_params.get("report_type"):
            return self.ion_params["report_type"]
        style = self.ion_params.get("rawdatastyle") or self.experiment.get("rawdatastyle") or "single"
        if style == "single":
            return "wholechip"
        raw = self.ion_params.get("pathToData") or self.experiment.get("expDir") or ""
        return "thumbnail" if "thumbnail" in raw else "composite"

    def block_dirs(self) -> List[str]:
        """Existing ``block_X`` folders of a composite report (sorted), else none."""
        if self.report_type != "composite" or not self.dir or not os.path.isdir(self.dir):
            return []
        return sorted(e.name for e in os.scandir(self.dir) if e.is_dir() and e.name.startswith("block_"))


def load_report(store, result_pk: int) -> Optional[Report]:
    """The result ``result_pk`` with its experiment, analysis settings, plan, storage and ion_params; None if absent."""
    result = fetch_one(store, "results", result_pk)
    if result is None:
        return None
    rep = Report(result=result)
    rep.experiment = fetch_one(store, "experiment", result.get("experiment_id")) or {}
    rep.eas = fetch_one(store, "experimentanalysissettings", result.get("eas_id")) or {}
    rep.plan = fetch_one(store, "plannedexperiment", rep.experiment.get("plan_id")) or {}
    rep.storage = fetch_one(store, "reportstorage", result.get("reportstorage_id")) or {}
    configs = fetch(store, "globalconfig", "1 = 1 ORDER BY id LIMIT 1")
    rep.globalconfig = configs[0] if configs else {}
    rep.dir = report_dir(rep.storage, result.get("reportLink") or "")
    if rep.dir:
        try:
            rep.ion_params = json.loads(Path(rep.dir, "ion_params_00.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rep.ion_params = {}
    if rep.experiment.get("id") is not None:
        # Samples own the link to experiments: sample_experiments(src_id = sample, dst_id = experiment).
        rep.samples = fetch(store, "sample", 'id IN (SELECT src_id FROM "sample_experiments" WHERE dst_id = ?)',
                            (rep.experiment["id"],))
    return rep


def _date_text(value) -> str:
    if isinstance(value, str) and value:
        try:
            value = _dt.datetime.fromisoformat(value.replace("Z", ""))
        except ValueError:
            return value
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value or "")


def _sub(report: str, name: str, block: Optional[str]) -> str:
    path = os.path.normpath(os.path.join(report, name)) if report else ""
    if not path or not os.path.isdir(path):
        path = report
    return os.path.join(path, block) if block and path else path


def site_slug(text: str) -> str:
    """Django's slugify: ASCII letters, digits, ``_`` and ``-``, lower case, runs of spaces/hyphens as one ``-``."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _output_stem(rep: Report) -> str:
    """``[Auto_]<plan name>_<slugified site name>_<report pk>``: the plan name as is, as the real server writes it."""
    name = rep.result.get("resultsName") or ""
    prefix = "Auto_" if name.startswith("Auto_") else ""
    plan_name = (rep.plan.get("planName") or rep.experiment.get("expName") or "")[:80]
    site = site_slug(rep.globalconfig.get("site_name") or "")[:30]
    return f"{prefix}{plan_name}_{site}_{rep.pk}"


def plugin_config(instance: Any, global_config: Any, plan_config: Any, plugin_dir: str) -> dict:
    """§5.3: the first non-empty of instance > global > plan > ``<plugin>/pluginconfig.json`` > {}."""
    for candidate in (instance, global_config, plan_config):
        if candidate:
            return candidate
    try:
        default = json.loads(Path(plugin_dir, "pluginconfig.json").read_text(encoding="utf-8"))
        if default:
            return default
    except (OSError, ValueError):
        pass
    return {}


def plan_entry(rep: Report, plugin_name: str) -> dict:
    """The plan's ``selectedPlugins[<Name>]`` entry ({} when the plan did not select the plugin)."""
    selected = rep.eas.get("selectedPlugins") or {}
    entry = selected.get(plugin_name) if isinstance(selected, dict) else None
    return entry if isinstance(entry, dict) else {}


def _chef(rep: Report) -> dict:
    if not rep.experiment.get("chefInstrumentName"):
        return {}
    return {name: _date_text(rep.experiment.get(name)) if isinstance(rep.experiment.get(name), _dt.datetime)
            else rep.experiment.get(name) for name in dict.fromkeys(_CHEF_FIELDS)}


def _plan_section(store, rep: Report) -> dict:
    if not rep.plan:
        return {}
    plan, eas = rep.plan, rep.eas
    description = ""
    if plan.get("runType"):
        rows = fetch(store, "runtype", "runType = ?", (plan["runType"],))
        description = rows[0].get("description", "") if rows else ""
    grouping = ""
    if plan.get("sampleGrouping_id") is not None:
        row = fetch_one(store, "samplegrouptype_cv", plan["sampleGrouping_id"]) or {}
        grouping = row.get("displayedName", "")
    return {
        "barcodeId": eas.get("barcodeKitName") or "", "endBarcodeKitName": eas.get("endBarcodeKitName") or "",
        "barcodedSamples": eas.get("barcodedSamples") or {}, "bedfile": eas.get("targetRegionBedFile") or "",
        "librarykitname": eas.get("libraryKitName") or "", "regionfile": eas.get("hotSpotRegionBedFile") or "",
        "threePrimeAdapter": eas.get("threePrimeAdapter") or "",
        "controlSequencekitname": plan.get("controlSequencekitname") or "", "planName": plan.get("planName") or "",
        "reverse_primer": plan.get("reverse_primer") or "", "runMode": plan.get("runMode") or "",
        "runType": plan.get("runType") or "", "applicationGroup_id": plan.get("applicationGroup_id"),
        "runTypeDescription": description, "samplePrepKitName": plan.get("samplePrepKitName") or "",
        "templatingKitName": plan.get("templatingKitName") or "", "username": plan.get("username") or "",
        "sampleGrouping": grouping, "sampleTubeLabel": plan.get("sampleTubeLabel") or "",
        "sequencekitname": rep.experiment.get("sequencekitname") or "", "sseBedFile": eas.get("sseBedFile") or "",
    }


def _sampleinfo(rep: Report) -> dict:
    info = {}
    for sample in rep.samples:
        name = sample.get("displayedName") or sample.get("name") or ""
        info[name] = {"name": sample.get("name") or "", "displayedName": name,
                      "externalId": sample.get("externalId") or "", "description": sample.get("description") or "",
                      "attributes": {}}
    return info


def _datamanagement(rep: Report) -> dict:
    # Nothing on this box disposes of report files, so every category is still present.
    return {name: True for name in _DM_CATEGORIES} if rep.dir and os.path.isdir(rep.dir) else {}


def build_startplugin(store, rep: Report, *, plugin: dict, level: str, results_dir: str, run_mode: str,
                      pluginconfig: dict, net_location: str, username: str, pluginresult: int, api_key: str,
                      block_id: Optional[str] = None, depends: Optional[dict] = None) -> dict:
    """The startplugin.json dict (§5.1) for one job; ``plugin`` is the plugins-dict entry (§3.3)."""
    params, exp, eas = rep.ion_params, rep.experiment, rep.eas
    report = rep.dir
    raw = params.get("pathToData") or exp.get("expDir") or ""
    chip = params.get("chiptype") or exp.get("chipType") or ""
    chip_rows = fetch(store, "chip", "name = ?", (chip,)) if chip else []
    reference = params.get("referenceName") or eas.get("reference") or rep.result.get("reference") or ""
    barcode_id = eas.get("barcodeKitName") or params.get("barcodeId") or ""
    blocks = rep.block_dirs()
    block_dirs = [os.path.join(report, b) for b in blocks] if blocks else ["."]
    try:
        analysis_date = _dt.date.fromtimestamp(os.path.getmtime(os.path.join(report, "ion_params_00.json")))
    except OSError:
        analysis_date = _dt.date.today()
    runinfo = {
        "raw_data_dir": os.path.join(raw, block_id) if block_id and raw else raw,
        "report_root_dir": report, "analysis_dir": report,
        "sigproc_dir": _sub(report, params.get("SIGPROC_RESULTS") or "sigproc_results", block_id),
        "basecaller_dir": _sub(report, params.get("BASECALLER_RESULTS") or "basecaller_results", block_id),
        "alignment_dir": _sub(report, ".", block_id),
        "library_key": params.get("libraryKey") or eas.get("libraryKey") or "TCAG",
        "testfrag_key": params.get("tfKey") or eas.get("tfKey") or "ATCG",
        "results_dir": results_dir, "net_location": net_location,
        "url_root": (rep.result.get("reportLink") or "").rstrip("/"),
        "api_url": net_location + "/rundb/api",
        "plugin_dir": plugin.get("path", ""), "plugin_name": plugin.get("name", ""), "plugin": plugin,
        "pk": rep.pk, "tmap_version": params.get("tmap_version") or "tmap-f3", "library": reference or "none",
        "chipType": chip, "barcodeId": barcode_id, "platform": (exp.get("platform") or "").lower(),
        "systemType": exp.get("platform") or "", "username": username,
        "chipDescription": chip_rows[0].get("description", "") if chip_rows else "",
    }
    projects = params.get("project") or ""
    expmeta = {
        "run_name": exp.get("expName") or params.get("expName") or "", "run_date": _date_text(exp.get("date")),
        "run_flows": exp.get("flows") or params.get("flows") or 0, "instrument": exp.get("pgmName") or "",
        "chiptype": chip, "chipBarcode": exp.get("chipBarcode") or "", "notes": exp.get("notes") or "",
        "barcodeId": barcode_id, "results_name": rep.result.get("resultsName") or "",
        "flowOrder": params.get("flowOrder") or exp.get("flowsInOrder") or "",
        "project": ",".join(projects) if isinstance(projects, list) else projects,
        "runid": rep.result.get("runid") or params.get("runid") or "", "sample": params.get("sample") or "",
        "output_file_name_stem": _output_stem(rep), "analysis_date": analysis_date.isoformat(),
    }
    runplugin = {"run_type": rep.report_type or "unknown", "runlevel": level, "block_dirs": block_dirs,
                 "numBlocks": len(block_dirs), "run_mode": run_mode}
    if block_id:
        runplugin["blockId"] = block_id
    doc = {"runinfo": runinfo, "runplugin": runplugin, "expmeta": expmeta, "chefSummary": _chef(rep),
           "pluginconfig": pluginconfig, "globalconfig": dict(GLOBALCONFIG), "plan": _plan_section(store, rep),
           "sampleinfo": _sampleinfo(rep), "datamanagement": _datamanagement(rep)}
    if plugin.get("depends"):
        doc["depends"] = depends or {}
    runinfo["pluginresult"] = pluginresult
    runinfo["api_key"] = api_key
    return doc


# ---- barcodes.json ---------------------------------------------------------------------------------------

def _reference_info(store, short_name: str, tmap: str) -> dict:
    empty = {"reference_fullpath": "", "reference_full_name": "", "genome_urlpath": ""}
    if not short_name or short_name == "none":
        return empty
    rows = fetch(store, "referencegenome", "short_name = ? ORDER BY enabled DESC, id", (short_name,))
    if not rows:
        return empty
    ref = rows[0]
    path = ref.get("reference_path") or ""
    return {"reference_fullpath": os.path.join(path, f"{short_name}.fasta") if path else "",
            "reference_full_name": ref.get("name") or "",
            "genome_urlpath": f"/auth/output/{tmap}/{short_name}/{short_name}.fasta" if path else ""}


def _sample_overrides(eas: dict) -> Dict[str, tuple]:
    """barcode name → (sample name, barcodeSampleInfo entry) from the analysis settings' barcodedSamples."""
    found = {}
    for sample, entry in (eas.get("barcodedSamples") or {}).items():
        if not isinstance(entry, dict):
            continue
        info = entry.get("barcodeSampleInfo") or {}
        for barcode in entry.get("barcodes") or list(info):
            found[barcode] = (sample, info.get(barcode) or {})
    return found


def build_barcodes(store, rep: Report, include_filtered: bool = False) -> Optional[dict]:
    """barcodes.json (§5.2), or None when the report has no ``basecaller_results/datasets_basecaller.json``."""
    path = Path(rep.dir, "basecaller_results", "datasets_basecaller.json") if rep.dir else None
    try:
        datasets = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        datasets = None
    if not isinstance(datasets, dict):
        return None
    eas, report = rep.eas, rep.dir
    tmap = rep.ion_params.get("tmap_version") or "tmap-f3"
    reference = eas.get("reference") or rep.ion_params.get("referenceName") or ""
    groups = datasets.get("read_groups") or {}
    kit = eas.get("barcodeKitName") or ""
    bed = eas.get("targetRegionBedFile") or ""
    hotspot = eas.get("hotSpotRegionBedFile") or ""
    sse = eas.get("sseBedFile") or ""
    if not kit:
        dataset = (datasets.get("datasets") or [{}])[0]
        group = groups.get((dataset.get("read_groups") or [""])[0], {})
        aligned = bool(reference) and reference != "none"
        bam = "rawlib.bam" if aligned else dataset.get("basecaller_bam", "rawlib.basecaller.bam")
        ids = [s.get("externalId") or "" for s in rep.samples]
        entry = {"reference": reference, **_reference_info(store, reference, tmap), "aligned": aligned,
                 "bam_file": bam, "filtered": bool(group.get("filtered", False)),
                 "bam_filepath": os.path.join(report, bam if aligned else os.path.join("basecaller_results", bam)),
                 "hotspot_filepath": hotspot, "read_count": dataset.get("read_count", 0),
                 "target_region_filepath": bed, "sse_filepath": sse, "nucleotide_type": "",
                 "control_sequence_type": "", "sample": group.get("sample", ""),
                 "sample_id": ids[0] if len(ids) == 1 else "", "control_type": ""}
        return {"nonbarcoded": entry}
    table = {row.get("id_str"): row for row in fetch(store, "dnabarcode", "name = ?", (kit,))}
    overrides = _sample_overrides(eas)
    sample_ids = {s.get("displayedName") or s.get("name"): s.get("externalId") or "" for s in rep.samples}
    out = {}
    for dataset in datasets.get("datasets") or []:
        names = dataset.get("read_groups") or []
        barcodes = {name.split(".", 1)[1] if "." in name else "" for name in names}
        if not names or len(barcodes) != 1:
            continue
        barcode = barcodes.pop()
        if not barcode or barcode == "nomatch":
            continue
        group = groups.get(names[0], {})
        filtered = bool(group.get("filtered", False))
        if filtered and not include_filtered:
            continue
        sample, info = overrides.get(barcode, (group.get("sample", "") if group.get("sample") != "none" else "", {}))
        ref = info.get("reference", reference) if info else reference
        row = table.get(barcode, {})
        aligned = bool(ref) and ref != "none" and not filtered
        prefix = dataset.get("file_prefix") or f"{barcode}_rawlib"
        bam = f"{prefix}.bam" if aligned else dataset.get("basecaller_bam") or f"{prefix}.basecaller.bam"
        end = info.get("endBarcode") or ""
        entry = {
            "filtered": filtered, "read_count": dataset.get("read_count", group.get("read_count", 0)),
            "reference": ref, "barcode_annotation": row.get("annotation") or "",
            "barcode_type": row.get("type") or "", "barcode_sequence": row.get("sequence") or
            group.get("barcode_sequence", ""), "barcode_adapter": row.get("adapter") or
            group.get("barcode_adapter", ""), "barcode_name": barcode,
            "barcode_index": row.get("index") or group.get("index") or 0,
            "target_region_filepath": info.get("targetRegionBedFile", bed), "hotspot_filepath":
            info.get("hotSpotRegionBedFile", hotspot), "sse_filepath": info.get("sseBedFile", sse),
            "sample": sample, "nucleotide_type": info.get("nucleotideType", ""),
            "control_sequence_type": info.get("controlSequenceType", ""),
            "barcode_description": info.get("description", ""), "control_type": info.get("controlType", ""),
            "end_barcode_name": end, "end_barcode_index": 0, "end_barcode_adapter": "",
            "end_barcode_annotation": "", "end_barcode_sequence": "", "end_barcode_type": "",
            "dual_barcode_name": f"{barcode}--{end}" if end else "", "end_barcode_kit_name": "",
            **_reference_info(store, ref, tmap), "aligned": aligned, "bam_file": bam,
            "bam_filepath": os.path.join(report, bam) if aligned else
            os.path.join(report, "basecaller_results", bam),
        }
        if sample:
            entry["sample_id"] = sample_ids.get(sample, "")
        out[barcode] = entry
    return out


def json_text(doc: Any) -> str:
    """``doc`` as the job files print it: indent 2, what JSON has no type for as text."""
    return indented_json(doc, str) + "\n"


__all__ = ["Report", "load_report", "build_startplugin", "build_barcodes", "plugin_config", "plan_entry",
           "json_text", "fetch", "fetch_one", "BARCODES_NAME"]
