"""What the report page shows, gathered through the API's read handler and from the report's own folder."""
from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

from torrentlite.api.plugin_runs import plugin_results
from torrentlite.web.facts import bases, elapsed, number, pk_of, size, usage, when

ACTIVE_STATES = ("Queued", "Pending", "Started")
# Files of a report folder offered for download, when present (path below the report, label).
DOWNLOADS = (
    ("basecaller_results/datasets_basecaller.json", "Basecaller datasets (JSON)"),
    ("alignment_barcode_summary.csv", "Alignment summary per barcode (CSV)"),
    ("barcodeList.txt", "Barcode list"),
    ("ion_params_00.json", "Analysis parameters (JSON)"),
    ("explog_final.txt", "Experiment log"),
    ("sigproc_results/bfmask.stats", "Bead-find mask statistics"),
    ("log.html", "Analysis log"),
)


def first_row(api, table: str, column: str, key, columns=None) -> dict:
    """The newest row of `table` whose `column` is `key` (only `columns` read), or {}."""
    if key is None:
        return {}
    with api.store.read():
        rows = api.store.reader.where_in(table, column, [key], order_desc="id", columns=columns)
    return rows[0] if rows else {}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def barcodes(folder: Path, link: str) -> list[dict]:
    """Barcode rows from the basecaller's dataset map and the alignment summary, with BAM links when present."""
    datasets = _read_json(folder / "basecaller_results" / "datasets_basecaller.json") or {}
    summary = {}
    try:
        with open(folder / "alignment_barcode_summary.csv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                summary[row.get("Barcode ID", "")] = row
    except OSError:
        pass
    rows = []
    for dataset in datasets.get("datasets") or []:
        if not isinstance(dataset, dict):
            continue
        groups = dataset.get("read_groups") or [""]
        barcode = str(groups[0]).rsplit(".", 1)[-1] if groups else ""
        prefix = str(dataset.get("file_prefix") or "")
        aligned = summary.get(barcode, {})
        bam = None
        unaligned = f"basecaller_results/{dataset.get('basecaller_bam') or ''}"
        for candidate in (f"{prefix}.bam", f"download_links/{prefix}.bam", f"{barcode}_rawlib.bam", unaligned):
            if prefix and candidate.endswith(".bam") and (folder / candidate).is_file():
                bam = link + candidate
                break
        rows.append({"barcode": barcode or dataset.get("dataset_name", ""), "sample": aligned.get("Sample Name", ""),
                     "reads": dataset.get("read_count") or 0, "mapped": number(aligned.get("Mapped Reads")),
                     "q20_bases": number(aligned.get("Filtered Mapped Bases in Q20 Alignments")),
                     "mean_length": aligned.get("Filtered Q7 Mean Alignment Length", ""), "bam": bam})
    return rows


def _files(folder: Path, suffix: str) -> list:
    try:
        return sorted((e for e in os.scandir(folder) if e.name.endswith(suffix) and e.is_file()), key=lambda e: e.name)
    except OSError:
        return []


def downloads(folder: Path, link: str) -> list[dict]:
    """The report's BAMs (report folder and download_links/), its summary files and its read files."""
    out = []
    for sub in ("", "download_links/"):
        for entry in _files(folder / sub, ".bam"):
            out.append({"label": f"BAM {entry.name}", "href": f"{link}{sub}{entry.name}",
                        "size": size(entry.stat().st_size)})
    for relative, label in DOWNLOADS:
        path = folder / relative
        if path.is_file():
            out.append({"label": label, "href": link + relative, "size": size(path.stat().st_size)})
    for entry in _files(folder / "basecaller_results", ".fastq"):
        out.append({"label": f"Reads {entry.name}", "href": f"{link}basecaller_results/{entry.name}",
                    "size": size(entry.stat().st_size)})
    return out


def length_bins(quality: dict) -> list[list]:
    """Reads per read-length bin from the run's cumulative counts (>= 50, 100, 150 bp)."""
    total = quality.get("q0_reads") or 0
    at_least = [(0, total)] + [(n, quality.get(f"q0_{n}bp_reads") or 0) for n in (50, 100, 150)]
    top = quality.get("q0_max_read_length") or 0
    bins = []
    for i, (low, count) in enumerate(at_least):
        following = at_least[i + 1][1] if i + 1 < len(at_least) else 0
        high = at_least[i + 1][0] if i + 1 < len(at_least) else max(top, low + 1)
        bins.append([f"{low}–{high - 1}" if i + 1 < len(at_least) else f"{low}+", max(0, count - following)])
    return bins


def plot_data(analysis: dict, quality: dict, barcode_rows: list) -> dict:
    wells = [[label, analysis.get(key) or 0] for label, key in (
        ("Empty", "empty"), ("Pinned", "pinned"), ("Ignored", "ignored"), ("Library", "lib"),
        ("Test fragment", "tf"), ("Dud", "dud"))]
    base_counts = [[label, int(quality.get(key) or 0)] for label, key in (
        ("Total (Q0)", "q0_bases"), ("Q17", "q17_bases"), ("Q20", "q20_bases"))]
    data = {"wells": wells if any(v for _, v in wells) else [],
            "lengths": length_bins(quality) if quality.get("q0_reads") else [],
            "bases": base_counts if any(v for _, v in base_counts) else [],
            "barcodes": [[r["barcode"], r["reads"]] for r in barcode_rows]}
    return data


def plugin_entries(api, result_pk: int) -> list[dict]:
    """The plugin section's rows, newest result first per plugin, with times and resource use."""
    entries = []
    for item in plugin_results(api, result_pk):
        jobs = item.get("plugin_result_jobs") or []
        job = jobs[0] if jobs else {}
        entries.append({
            "id": item["id"], "name": item["Name"], "version": item["Version"], "state": item["State"],
            "url": item["URL"], "blocks": [f for f in item["Files"] if "_block" in f],
            "links": item["Links"], "size": size(item["Size"]), "start": when(job.get("starttime")),
            "end": when(job.get("endtime")), "elapsed": elapsed(job.get("starttime"), job.get("endtime")),
            **usage(job.get("usage")),
            "reason": job.get("reason") or "", "config": job.get("config") or {},
            "active": item["State"] in ACTIVE_STATES, "can_stop": item["State"] in ACTIVE_STATES,
            "errors": item.get("validation_errors") or [],
        })
    return entries


def signature(entries: list[dict]) -> str:
    """Changes whenever anything the plugin section shows changes."""
    text = json.dumps([[e["id"], e["state"], e["blocks"], e["links"], e["size"], e["end"]] for e in entries])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def report(api, pk: int, user) -> dict:
    """Everything the report page shows, or raises ApiError(404)."""
    result = api.read.detail(api.registry["results"], str(pk), {}, user=user)
    # Display-only facts of the related rows: read by key, only the columns shown.
    experiment = first_row(api, "experiment", "id", pk_of(result.get("experiment")),
                           ("id", "expName", "date", "pgmName", "chipType", "flows"))
    eas = first_row(api, "experimentanalysissettings", "id", pk_of(result.get("eas")),
                    ("id", "reference", "barcodeKitName"))
    analysis = first_row(api, "analysismetrics", "report_id", pk)
    lib = first_row(api, "libmetrics", "report_id", pk, ("id", "totalNumReads", "raw_accuracy"))
    quality = first_row(api, "qualitymetrics", "report_id", pk)
    folder = Path(result.get("filesystempath") or "/nonexistent")
    link = result.get("reportLink") or ""
    barcode_rows = barcodes(folder, link)
    facts = [("Run", experiment.get("expName", "")), ("Run date", when(experiment.get("date"))),
             ("Instrument", experiment.get("pgmName", "")), ("Chip", experiment.get("chipType", "")),
             ("Flows", experiment.get("flows", "")), ("Plan", result.get("planShortID", "")),
             ("Reference", result.get("reference") or eas.get("reference", "")),
             ("Barcode set", eas.get("barcodeKitName", "")), ("Analysis started", when(result.get("timeStamp"))),
             ("Analysis version", result.get("analysisVersion", "")), ("Report folder", link)]
    metrics = [
        ("ISP loading", f"{analysis['loading']:.1f} %" if analysis.get("loading") is not None else ""),
        ("Total reads", number(lib.get("totalNumReads") if lib.get("totalNumReads") is not None
                               else quality.get("q0_reads"))),
        ("Total bases", bases(quality.get("q0_bases"))), ("Q20 bases", bases(quality.get("q20_bases"))),
        ("Mean read length", f"{quality['q0_mean_read_length']:.0f} bp" if quality.get("q0_mean_read_length") else ""),
        ("Raw accuracy", f"{lib['raw_accuracy']} %" if lib.get("raw_accuracy") else ""),
    ]
    return {"result": result, "experiment": experiment, "facts": [f for f in facts if f[1] not in ("", None)],
            "metrics": [m for m in metrics if m[1]], "barcodes": barcode_rows,
            "downloads": downloads(folder, link),
            "plots": plot_data(analysis, quality, barcode_rows), "analysis": analysis}
