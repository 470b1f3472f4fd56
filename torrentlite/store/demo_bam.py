"""Writes the demo's sequencing files with pysam: reference FASTA and index, panel BEDs, BAMs, read summary."""
from __future__ import annotations

import json
from pathlib import Path

from .demo import DEMO_RUNS, FLOW_ORDER, run_identity
from .demo_files import BED_FOLDER, READ_SUMMARY, RUN_FOLDER, library_folder
from .demo_genome import GENOMES, PANEL, fasta_text, hotspots_bed, sequences, targets_bed
from .demo_reads import Dataset, ReadPlan, dataset_stats, revcomp, simulate, sorted_for_bam
from .reference import TMAP_INDEX_VERSION, barcode_sets, chip_platform

# Genotypes of the planted variants: fraction of a sample's reads carrying each (0.05: a low-frequency call).
GENOTYPES = {
    "NA12878": (("SNV0", 0.5), ("SNV1", 1.0), ("DEL2", 0.5), ("SNV4", 0.5)),
    "NA12891": (("SNV0", 1.0), ("SNV1", 0.5), ("SNV3", 0.5)),
    "NA12892": (("SNV1", 0.5), ("DEL2", 0.5), ("SNV3", 0.5), ("SNV4", 0.5)),
    "HD701_Reference": (("SNV0", 0.05), ("SNV3", 0.1), ("DEL2", 0.5)),
    "E_coli_DH10B": (("ECO0", 1.0), ("ECO1", 1.0)),
}
GENOTYPES["NA12878_WGS"] = GENOTYPES["NA12878"]
READ_PLANS = {"ecoli": ReadPlan("demo_ecoli", 185, 45), "ampliseq": ReadPlan("demo_hg", amplicon=True),
              "wgs": ReadPlan("demo_hg", 150, 40)}
READS_PER_DATASET = {"ecoli": (4000,), "ampliseq": (1200, 1100, 1300, 1000, 60), "wgs": (3000,)}
PROGRAM = {"ID": "demo", "PN": "torrentlite make_demo_data", "CL": "simulated reads placed on the reference"}


def datasets_of(run) -> list[Dataset]:
    counts = READS_PER_DATASET[run.key]
    if not run.barcode_kit:
        return [Dataset("rawlib", run.samples[0][1], counts[0], GENOTYPES[run.samples[0][1]])]
    found = [Dataset(f"{barcode}_rawlib", sample, count, GENOTYPES[sample])
             for (barcode, sample), count in zip(run.samples, counts)]
    return found + [Dataset("nomatch_rawlib", "none", counts[-1], ())]


def write_demo_data(out: Path) -> dict:
    """Generate everything into out (the package's data/demo folder); returns the read summary."""
    import pysam  # imported here: reading the demo (store/demo.py) needs only the shipped files

    out = Path(out)
    for short in GENOMES:
        folder = library_folder(out, short)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{short}.fasta").write_text(fasta_text(short))
        pysam.faidx(str(folder / f"{short}.fasta"))
    (out / BED_FOLDER).mkdir(parents=True, exist_ok=True)
    (out / BED_FOLDER / f"{PANEL}.bed").write_text(targets_bed())
    (out / BED_FOLDER / f"{PANEL}_Hotspots.bed").write_text(hotspots_bed())
    summary = {"runs": {}}
    for index, run in enumerate(DEMO_RUNS):
        when, runid = run_identity(index, run)
        plan = READ_PLANS[run.key]
        datasets = datasets_of(run)
        reads = simulate(run.key, plan, datasets, runid)
        folder = out / RUN_FOLDER / run.key
        (folder / "basecaller_results").mkdir(parents=True, exist_ok=True)
        entries = []
        for dataset in datasets:
            barcode = dataset.prefix[:-len("_rawlib")] if dataset.prefix != "rawlib" else ""
            group = f"{runid}.{barcode}" if barcode else runid
            read_group = _read_group(run, group, dataset, barcode, when)
            _write_bams(pysam, folder, dataset.prefix, plan.genome, read_group, reads[dataset.prefix])
            entries.append({"prefix": dataset.prefix, "sample": dataset.sample, "barcode": barcode,
                            "read_group": group, **dataset_stats(reads[dataset.prefix])})
        summary["runs"][run.key] = {"runid": runid, "genome": plan.genome, "datasets": entries}
    (out / READ_SUMMARY).write_text(json.dumps(summary, sort_keys=True, separators=(",", ":")) + "\n")
    return summary


def _read_group(run, group: str, dataset: Dataset, barcode: str, when) -> dict:
    sequence = ""
    if barcode and barcode != "nomatch":
        sequence = next(seq for index, seq, _a, _k in barcode_sets()[run.barcode_kit]
                        if f"{run.barcode_kit}_{index:03d}" == barcode)
    return {"ID": group, "SM": dataset.sample, "LB": READ_PLANS[run.key].genome, "PL": "IONTORRENT",
            "PU": f"{chip_platform(run.chip)}/{run.chip}/{barcode or 'none'}", "KS": "TCAG" + sequence,
            "FO": FLOW_ORDER[:run.flows], "DT": when.strftime("%Y-%m-%dT%H:%M:%S"), "CN": "TorrentServer/demo"}


def _write_bams(pysam, folder: Path, prefix: str, genome: str, read_group: dict, reads) -> None:
    contigs = list(sequences(genome))
    aligned_header = {"HD": {"VN": "1.4", "SO": "coordinate"},
                      "SQ": [{"SN": c, "LN": len(sequences(genome)[c]), "AS": genome} for c in contigs],
                      "RG": [read_group], "PG": [PROGRAM]}
    path = folder / f"{prefix}.bam"
    with pysam.AlignmentFile(str(path), "wb", header=aligned_header) as bam:
        for read in sorted_for_bam(reads, contigs):
            bam.write(_segment(pysam, bam.header, read, read_group["ID"], aligned=True))
    pysam.index(str(path))
    unaligned_header = {"HD": {"VN": "1.4", "SO": "unsorted"}, "RG": [read_group], "PG": [PROGRAM]}
    with pysam.AlignmentFile(str(folder / "basecaller_results" / f"{prefix}.basecaller.bam"), "wb",
                             header=unaligned_header) as bam:
        for read in reads:
            bam.write(_segment(pysam, bam.header, read, read_group["ID"], aligned=False))


def _segment(pysam, header, read, group: str, aligned: bool):
    segment = pysam.AlignedSegment(header)
    segment.query_name = read.name
    if aligned and read.contig is not None:
        segment.reference_name = read.contig
        segment.reference_start = read.pos
        segment.cigartuples = read.cigar
        segment.mapping_quality = 60
        segment.flag = 16 if read.reverse else 0
        segment.query_sequence = revcomp(read.seq) if read.reverse else read.seq
        segment.query_qualities = pysam.qualitystring_to_array(
            "".join(chr(33 + q) for q in (read.qual[::-1] if read.reverse else read.qual)))
    else:
        segment.flag = 4
        segment.query_sequence = read.seq
        segment.query_qualities = pysam.qualitystring_to_array("".join(chr(33 + q) for q in read.qual))
    segment.set_tag("RG", group)
    return segment


__all__ = ["write_demo_data", "datasets_of", "TMAP_INDEX_VERSION"]
