"""Contents of a demo run's raw-data and report folders: explog, ion_params, basecaller outputs, BAMs."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from . import demo_metrics as metrics
from .reference import TMAP_INDEX_VERSION, barcode_sets

PIPELINE_SITE = "Torrent Server"
# The sequencing files (made by scripts/make_demo_data.py with pysam) ship with the package.
PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data" / "demo"
READ_SUMMARY = "reads.json"
RUN_FOLDER = "runs"
BED_FOLDER = "bed"
LIBRARY = "referenceLibrary"


def library_folder(root: Path, short: str) -> Path:
    """<root>/referenceLibrary/tmap-f3/<short>: where Torrent Suite keeps a genome's FASTA and index."""
    return Path(root) / LIBRARY / TMAP_INDEX_VERSION / short


@lru_cache(maxsize=1)
def read_summary() -> dict:
    """What the shipped reads are: per run, per dataset, counts and length histograms."""
    return json.loads((PACKAGE_DATA / READ_SUMMARY).read_text(encoding="utf-8"))


def report_files(ctx: dict) -> dict[Path, str]:
    """The text files of one demo run, keyed by absolute path (raw data dir and report dir)."""
    report: Path = ctx["report_dir"]
    explog_text = "".join(f"{key}: {value}\n" for key, value in ctx["explog"]) + "ExperimentErrorLog:\n"
    files = {
        ctx["exp_dir"] / "explog.txt": explog_text,
        # The instrument leaves explog_final.txt in the raw-data folder when a run ends; plugins
        # such as the SDK's LogParser read it from runinfo.raw_data_dir.
        ctx["exp_dir"] / "explog_final.txt": explog_text,
        report / "explog_final.txt": explog_text,
        report / "ion_params_00.json": _json(ion_params(ctx)),
        report / "basecaller_results" / "datasets_basecaller.json": _json(datasets_basecaller(ctx)),
        report / "basecaller_results" / "ionstats_basecaller.json": _json(ionstats_basecaller(ctx["reads"])),
        report / "sigproc_results" / "bfmask.stats": bfmask_stats(ctx["analysis"]),
        report / "sigproc_results" / "analysis_return_code.txt": "0\n",
        report / "log.html": _pipeline_log(ctx),
    }
    if ctx["run"].barcode_kit:
        files[report / "barcodeList.txt"] = barcode_list(ctx["run"].barcode_kit)
        files[report / "alignment_barcode_summary.csv"] = alignment_barcode_summary(ctx["reads"])
    return files


def sequencing_files(ctx: dict) -> dict[Path, Path]:
    """The run's BAMs (aligned + index in the report folder, unaligned in basecaller_results): target -> source."""
    source = PACKAGE_DATA / RUN_FOLDER / ctx["run"].key
    report: Path = ctx["report_dir"]
    copies = {}
    for dataset in ctx["reads"]:
        prefix = dataset["prefix"]
        for name in (f"{prefix}.bam", f"{prefix}.bam.bai", f"basecaller_results/{prefix}.basecaller.bam"):
            copies[report / name] = source / name
    return copies


def _json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def _barcode_table(kit: str) -> dict[str, tuple[int, str, str]]:
    return {f"{kit}_{index:03d}": (index, seq, adapter) for index, seq, adapter, _kind in barcode_sets()[kit]}


def ion_params(ctx: dict) -> dict:
    """ion_params_00.json as the analysis pipeline writes it at analysis start."""
    run, exp, eas, plan = ctx["run"], ctx["experiment"], ctx["eas"], ctx["plan"]
    exp_json = {key: exp[key] for key in ("expName", "expDir", "unique", "chipType", "chipBarcode", "flows",
                                          "cycles", "pgmName", "platform", "sequencekitname", "notes",
                                          "runMode", "status", "ftpStatus", "storage_options", "displayName",
                                          "flowsInOrder", "log", "metaData")}
    exp_json["date"] = exp["date"].strftime("%Y-%m-%dT%H:%M:%S")
    exp_json["id"] = exp["id"]
    return {
        "expName": exp["expName"], "pathToData": exp["expDir"], "resultsName": ctx["results_name"],
        "runid": ctx["runid"], "libraryKey": eas["libraryKey"], "tfKey": eas["tfKey"], "chiptype": run.chip,
        "flowOrder": ctx["flow_order"], "flows": run.flows, "project": "demo",
        "sample": "" if run.barcode_kit else run.samples[0][1], "referenceName": run.reference,
        "barcodeId": run.barcode_kit, "barcodeSamples": eas["barcodedSamples"], "libraryKitName": run.library_kit,
        "sequencekitname": run.sequencing_kit, "rawdatastyle": "single", "report_type": "wholechip",
        "site_name": PIPELINE_SITE, "net_location": "", "url_path": ctx["report_link"].rstrip("/"),
        "tmap_version": TMAP_INDEX_VERSION, "mark_duplicates": False, "realign": False,
        "reverse_primer_dict": {"name": "Ion P1B", "sequence": eas["threePrimeAdapter"], "qual_cutoff": 9,
                                "qual_window": 30, "adapter_cutoff": 16},
        "SIGPROC_RESULTS": "sigproc_results", "BASECALLER_RESULTS": "basecaller_results",
        "ALIGNMENT_RESULTS": "./", "plugins": {}, "exp_json": exp_json,
        "plan": {"planName": plan["planName"], "planShortID": plan["planShortID"], "runType": run.run_type,
                 "runMode": "single", "barcodeId": run.barcode_kit, "barcodedSamples": eas["barcodedSamples"],
                 "librarykitname": run.library_kit, "sequencekitname": run.sequencing_kit,
                 "templatingKitName": run.templating_kit, "bedfile": eas["targetRegionBedFile"],
                 "regionfile": eas["hotSpotRegionBedFile"],
                 "threePrimeAdapter": eas["threePrimeAdapter"], "username": plan["username"],
                 "sampleTubeLabel": "", "sampleGrouping": "Self"},
    }


def datasets_basecaller(ctx: dict) -> dict:
    """datasets_basecaller.json: one dataset per barcode (plus nomatch), counted from the shipped reads."""
    run = ctx["run"]
    doc = {"meta": {"format_name": "Dataset Map", "format_version": "1.0", "generated_by": "BaseCaller",
                    "creation_date": ctx["when"].strftime("%d/%m/%Y %H:%M:%S")},
           "datasets": [], "read_groups": {}}
    if run.barcode_kit:
        doc["barcode_config"] = {"barcode_id": run.barcode_kit, "score_mode": 1, "score_cutoff": 2}
    table = _barcode_table(run.barcode_kit) if run.barcode_kit else {}
    for entry in ctx["reads"]:
        prefix, group, barcode = entry["prefix"], entry["read_group"], entry["barcode"]
        extra = {"sample": entry["sample"], "description": "" if barcode else ctx["results_name"]}
        if barcode in table:
            _index, sequence, adapter = table[barcode]
            extra.update(barcode_name=barcode, barcode_sequence=sequence, barcode_adapter=adapter)
        name = {"rawlib": "Rawlib", "nomatch_rawlib": "No_barcode_match"}.get(prefix, prefix)
        doc["datasets"].append({"dataset_name": name, "file_prefix": prefix,
                                "basecaller_bam": f"{prefix}.basecaller.bam", "read_count": entry["read_count"],
                                "read_groups": [group]})
        doc["read_groups"][group] = dict(extra, read_count=entry["read_count"], total_bases=entry["total_bases"],
                                         Q20_bases=entry["Q20_bases"], filtered=False, library=run.reference,
                                         platform="IonTorrent", index=len(doc["datasets"]))
    return doc


def ionstats_basecaller(datasets: list[dict]) -> dict:
    """ionstats_basecaller.json: read-length histograms of all reads and of their Q17/Q20 prefixes."""
    doc = {"meta": {"format_name": "ionstats_basecaller", "format_version": "1.0"}}
    for section, key in (("full", "length"), ("Q17", "Q17"), ("Q20", "Q20")):
        h = metrics.merge(d[key] for d in datasets)
        top = metrics.longest(h)
        doc[section] = {"num_reads": metrics.reads_of(h), "num_bases": metrics.bases_of(h),
                        "mean_read_length": round(metrics.mean_of(h), 2), "max_read_length": top,
                        "read_length_histogram": [h.get(length, 0) for length in range(top + 1)]}
    return doc


def barcode_list(kit: str) -> str:
    """barcodeList.txt as BaseCaller reads it."""
    lines = [f"file_id {kit}", "score_mode 1", "score_cutoff 2"]
    for barcode, (index, sequence, adapter) in _barcode_table(kit).items():
        lines.append(f"barcode {index},{barcode},{sequence},{adapter},,none,{len(sequence)},")
    return "\n".join(lines) + "\n"


def alignment_barcode_summary(datasets: list[dict]) -> str:
    """Per-barcode alignment summary, counted from the shipped reads."""
    header = ("Barcode ID,Sample Name,Mapped Reads,Filtered Mapped Bases in Q7 Alignments,"
              "Filtered Mapped Bases in Q20 Alignments,Filtered Q7 Mean Alignment Length,Total Reads")
    rows = [header]
    for entry in datasets:
        if not entry["barcode"] or entry["barcode"] == "nomatch":
            continue
        q7, q20 = metrics.merge([entry["AQ7"]]), metrics.merge([entry["AQ20"]])
        rows.append(f"{entry['barcode']},{entry['sample']},{entry['mapped_reads']},{metrics.bases_of(q7)},"
                    f"{metrics.bases_of(q20)},{int(metrics.mean_of(q7))},{entry['read_count']}")
    return "\n".join(rows) + "\n"


def bfmask_stats(analysis: dict) -> str:
    """sigproc_results/bfmask.stats with the well counts of analysismetrics."""
    pairs = (("Total Wells", "total"), ("Excluded Wells", "excluded"), ("Empty Wells", "empty"),
             ("Pinned Wells", "pinned"), ("Ignored Wells", "ignored"), ("Bead Wells", "bead"),
             ("Dud Beads", "dud"), ("Ambiguous Beads", "amb"), ("Live Beads", "live"),
             ("Test Fragment Beads", "tf"), ("Library Beads", "lib"))
    return "[global]\n" + "".join(f"{label} = {analysis[key]}\n" for label, key in pairs)


def _pipeline_log(ctx: dict) -> str:
    steps = ("Beadfind", "Signal processing", "Basecalling", f"Alignment to {ctx['run'].reference}",
             "Report generation")
    items = "".join(f"<li>{step}: completed</li>" for step in steps)
    return f"<html><body><h1>{ctx['results_name']}</h1><ul>{items}</ul></body></html>\n"
