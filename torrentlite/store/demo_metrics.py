"""Mutually consistent run metrics (wells, reads, qualities, alignments) for a demo run."""
from __future__ import annotations

import random

from .reference import TF_C_SEQUENCE

# chip -> (total wells, excluded wells, loading range, mean read length)
CHIP_PROFILES = {
    "316v2": (6_345_216, 1_094_944, (0.80, 0.88), 188.0),
    "530": (20_545_920, 2_031_616, (0.78, 0.86), 176.0),
    "540": (164_699_136, 16_543_404, (0.86, 0.92), 152.0),
}
GENOME_SIZES = {"e_coli_dh10b": 4_686_137, "hg19": 3_095_693_981}
LENGTH_BINS = tuple(range(50, 601, 50))
QUALITIES = (7, 10, 17, 20, 47)


def analysis_metrics(rng: random.Random, chip: str) -> dict:
    """Well and bead classification: adjusted = empty + pinned + ignored + bead, bead = live + dud."""
    total, excluded, loading_range, _length = CHIP_PROFILES[chip]
    adjusted = total - excluded
    bead = int(adjusted * rng.uniform(*loading_range))
    pinned = int(adjusted * rng.uniform(0.00002, 0.0002))
    ignored = int(adjusted * rng.uniform(0.004, 0.009))
    empty = adjusted - bead - pinned - ignored
    dud = int(bead * rng.uniform(0.0004, 0.003))
    live = bead - dud
    tf = int(live * rng.uniform(0.006, 0.012))
    lib = live - tf
    cf, ie, dr = rng.uniform(0.45, 0.7), rng.uniform(0.35, 0.6), rng.uniform(0.1, 0.2)
    return {
        "total": total, "excluded": excluded, "adjusted_addressable": adjusted, "bead": bead,
        "empty": empty, "pinned": pinned, "ignored": ignored, "dud": dud, "amb": 0, "live": live,
        "tf": tf, "lib": lib, "libFinal": int(lib * rng.uniform(0.62, 0.72)),
        "tfFinal": int(tf * rng.uniform(0.88, 0.96)), "loading": round(100.0 * bead / adjusted, 6),
        "sysCF": round(cf, 6), "sysIE": round(ie, 6), "sysDR": round(dr, 6),
        "libLive": 0, "libKp": 0, "libMix": 0, "tfLive": 0, "tfKp": 0, "tfMix": 0, "keypass_all_beads": 0,
        "lib_pass_basecaller": 0, "lib_pass_cafie": 0, "washout": 0, "washout_ambiguous": 0,
        "washout_dud": 0, "washout_library": 0, "washout_live": 0, "washout_test_fragment": 0,
    }


def read_length_fractions(mean_length: float) -> dict[int, float]:
    """Share of reads at least N bases long, for the 50-600 bp bins, around a mean length."""
    fractions = {}
    for length in LENGTH_BINS:
        share = max(0.0, 1.0 - (length / (mean_length * 1.9)) ** 3)
        fractions[length] = round(share, 4)
    return fractions


def quality_metrics(rng: random.Random, chip: str, reads: int) -> dict:
    """Read-length and base-quality summary of the library reads."""
    mean = CHIP_PROFILES[chip][3] * rng.uniform(0.96, 1.04)
    row = {"q0_reads": reads, "q17_reads": reads, "q20_reads": reads}
    bases = int(reads * mean)
    quality_share = {"q0": 1.0, "q17": rng.uniform(0.88, 0.92), "q20": rng.uniform(0.82, 0.86)}
    for prefix, share in quality_share.items():
        row[f"{prefix}_bases"] = str(int(bases * share))
        mean_length = round(mean * share, 6)
        # q20's mean length is an integer column on the real server, q0/q17's are floats.
        row[f"{prefix}_mean_read_length"] = int(mean_length) if prefix == "q20" else mean_length
        row[f"{prefix}_median_read_length"] = int(mean * share) + 4
        row[f"{prefix}_mode_read_length"] = int(mean * share) - 8
        row[f"{prefix}_max_read_length"] = int(mean * 1.9)
        for length in (50, 100, 150):
            row[f"{prefix}_{length}bp_reads"] = int(reads * read_length_fractions(mean * share)[length])
    return row


def lib_metrics(rng: random.Random, analysis: dict, quality: dict, reference: str) -> dict:
    """Library metrics: key signal, phasing, and alignment summary against the reference."""
    reads = analysis["libFinal"]
    mapped = int(reads * rng.uniform(0.95, 0.99))
    mean = quality["q0_mean_read_length"]
    row = {"totalNumReads": reads, "aveKeyCounts": rng.randint(70, 105), "sysSNR": round(rng.uniform(18, 30), 6),
           "cf": analysis["sysCF"], "ie": analysis["sysIE"], "dr": analysis["sysDR"],
           "raw_accuracy": round(rng.uniform(98.9, 99.4), 2), "align_sample": 0,
           "genome": reference, "Genome_Version": "1", "Index_Version": "tmap-f3",
           "genomesize": str(GENOME_SIZES.get(reference, 0)), "total_mapped_reads": str(mapped),
           "total_mapped_target_bases": str(int(mapped * mean)), "duplicate_reads": None}
    keep = {7: 1.0, 10: 0.985, 17: 0.95, 20: 0.9, 47: 0.8}
    for q in QUALITIES:
        aligned = int(mapped * keep[q])
        length = round(mean * keep[q] ** 2, 6)
        row[f"q{q}_alignments"] = aligned
        row[f"q{q}_mapped_bases"] = str(int(aligned * length))
        row[f"q{q}_mean_alignment_length"] = int(length)
        row[f"q{q}_longest_alignment"] = int(mean * 1.9)
        for bin_length, share in read_length_fractions(length).items():
            row[f"i{bin_length}Q{q}_reads"] = int(aligned * share)
    return row


def tf_metrics(rng: random.Random, analysis: dict) -> dict:
    """Test fragment TF_C summary."""
    number = int(analysis["tfFinal"] * rng.uniform(0.55, 0.7))
    q10 = int(number * rng.uniform(0.93, 0.97))
    q17 = int(number * rng.uniform(0.85, 0.9))
    return {"name": "TF_C", "sequence": TF_C_SEQUENCE, "number": number, "keypass": number,
            "aveKeyCount": rng.randint(80, 100), "SysSNR": round(rng.uniform(7, 11), 6),
            "Q10Mean": rng.randint(88, 94), "Q17Mean": rng.randint(78, 86), "Q10ReadCount": q10,
            "Q17ReadCount": q17, "Q10Histo": "", "Q17Histo": "", "HPAccuracy": "", "corrHPSNR": ""}


def split_reads(rng: random.Random, total: int, parts: int) -> list[int]:
    """Split total reads into parts shares (last share absorbs rounding) plus 1-3% unmatched."""
    nomatch = int(total * rng.uniform(0.01, 0.03))
    weights = [rng.uniform(0.8, 1.2) for _ in range(parts)]
    scale = (total - nomatch) / sum(weights)
    counts = [int(w * scale) for w in weights]
    counts.append(total - sum(counts))
    return counts
