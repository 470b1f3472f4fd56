"""Contents of a demo run's raw-data and report folders (explog, ion_params, basecaller outputs)."""
from __future__ import annotations

import json
import random
from pathlib import Path

from . import demo_metrics as metrics
from .reference import TMAP_INDEX_VERSION, barcode_sets

FASTQ_READS = 12
PIPELINE_SITE = "Torrent Server"


def report_files(rng: random.Random, ctx: dict) -> dict[Path, str]:
    """All files of one demo run, keyed by absolute path (raw data dir and report dir)."""
    report: Path = ctx["report_dir"]
    explog_text = "".join(f"{key}: {value}\n" for key, value in ctx["explog"]) + "ExperimentErrorLog:\n"
    datasets = datasets_basecaller(rng, ctx)
    files = {
        ctx["exp_dir"] / "explog.txt": explog_text,
        # The instrument leaves explog_final.txt in the raw-data folder when a run ends; plugins
        # such as the SDK's LogParser read it from runinfo.raw_data_dir.
        ctx["exp_dir"] / "explog_final.txt": explog_text,
        report / "explog_final.txt": explog_text,
        report / "ion_params_00.json": _json(ion_params(ctx)),
        report / "basecaller_results" / "datasets_basecaller.json": _json(datasets),
        report / "sigproc_results" / "bfmask.stats": bfmask_stats(ctx["analysis"]),
        report / "sigproc_results" / "analysis_return_code.txt": "0\n",
        report / "log.html": _pipeline_log(ctx),
    }
    for dataset in datasets["datasets"]:
        name = f"{dataset['file_prefix']}.fastq"
        files[report / "basecaller_results" / name] = fastq(rng, ctx["runid"], min(FASTQ_READS,
                                                                                 dataset["read_count"]))
    if ctx["run"].barcode_kit:
        files[report / "barcodeList.txt"] = barcode_list(ctx["run"].barcode_kit)
        files[report / "alignment_barcode_summary.csv"] = alignment_barcode_summary(rng, ctx, datasets)
    return files


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
                 "templatingKitName": run.templating_kit, "bedfile": "", "regionfile": "",
                 "threePrimeAdapter": eas["threePrimeAdapter"], "username": plan["username"],
                 "sampleTubeLabel": "", "sampleGrouping": "Self"},
    }


def datasets_basecaller(rng: random.Random, ctx: dict) -> dict:
    """datasets_basecaller.json: one dataset per barcode (plus nomatch), read counts summing to the run's."""
    run, runid, total = ctx["run"], ctx["runid"], ctx["lib"]["totalNumReads"]
    mean = ctx["lib"]["q7_mean_alignment_length"]
    doc = {"meta": {"format_name": "Dataset Map", "format_version": "1.0", "generated_by": "BaseCaller",
                    "creation_date": ctx["when"].strftime("%d/%m/%Y %H:%M:%S")},
           "datasets": [], "read_groups": {}}

    def add(dataset_name, prefix, group, count, extra):
        doc["datasets"].append({"dataset_name": dataset_name, "file_prefix": prefix,
                                "basecaller_bam": f"{prefix}.basecaller.bam", "read_count": count,
                                "read_groups": [group]})
        doc["read_groups"][group] = dict(extra, read_count=count, total_bases=count * mean,
                                         Q20_bases=int(count * mean * 0.84), filtered=False,
                                         library=run.reference, platform="IonTorrent", index=len(doc["datasets"]))

    if not run.barcode_kit:
        add("Rawlib", "rawlib", runid, total, {"sample": run.samples[0][1], "description": ctx["results_name"]})
        return doc
    doc["barcode_config"] = {"barcode_id": run.barcode_kit, "score_mode": 1, "score_cutoff": 2}
    table = _barcode_table(run.barcode_kit)
    counts = metrics.split_reads(rng, total, len(run.samples))
    for (barcode, sample), count in zip(run.samples, counts):
        index, sequence, adapter = table[barcode]
        add(f"{barcode}_rawlib", f"{barcode}_rawlib", f"{runid}.{barcode}", count,
            {"sample": sample, "barcode_name": barcode, "barcode_sequence": sequence,
             "barcode_adapter": adapter, "description": ""})
    add("No_barcode_match", "nomatch_rawlib", f"{runid}.nomatch", counts[-1], {"sample": "none",
                                                                              "description": ""})
    return doc


def fastq(rng: random.Random, runid: str, reads: int) -> str:
    """A few FASTQ records in the basecaller's read-name style (row:column after the run id)."""
    lines = []
    for _ in range(reads):
        length = rng.randint(40, 120)
        seq = "".join(rng.choice("ACGT") for _ in range(length))
        qual = "".join(chr(33 + rng.randint(12, 32)) for _ in range(length))
        lines += [f"@{runid}:{rng.randint(0, 9999):05d}:{rng.randint(0, 9999):05d}", seq, "+", qual]
    return "\n".join(lines) + "\n"


def barcode_list(kit: str) -> str:
    """barcodeList.txt as BaseCaller reads it."""
    lines = [f"file_id {kit}", "score_mode 1", "score_cutoff 2"]
    for barcode, (index, sequence, adapter) in _barcode_table(kit).items():
        lines.append(f"barcode {index},{barcode},{sequence},{adapter},,none,{len(sequence)},")
    return "\n".join(lines) + "\n"


def alignment_barcode_summary(rng: random.Random, ctx: dict, datasets: dict) -> str:
    """Per-barcode alignment summary, consistent with the dataset read counts."""
    header = ("Barcode ID,Sample Name,Mapped Reads,Filtered Mapped Bases in Q7 Alignments,"
              "Filtered Mapped Bases in Q20 Alignments,Filtered Q7 Mean Alignment Length,Total Reads")
    rows = [header]
    for group in datasets["read_groups"].values():
        if "barcode_name" not in group:
            continue
        reads = group["read_count"]
        mapped = int(reads * rng.uniform(0.96, 0.99))
        length = ctx["lib"]["q7_mean_alignment_length"]
        rows.append(f"{group['barcode_name']},{group['sample']},{mapped},{mapped * length},"
                    f"{int(mapped * length * 0.85)},{length},{reads}")
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
