"""A demo run's metrics rows, computed from its reads' summary (wells and beads scaled to the reads)."""
from __future__ import annotations

import random

from .demo_genome import genome_size
from .reference import TF_C_SEQUENCE

# chip -> (share of wells excluded, loading range, share of library beads passing the filters)
CHIP_PROFILES = {
    "316v2": (0.1726, (0.80, 0.88), (0.62, 0.72)),
    "530": (0.0989, (0.78, 0.86), (0.64, 0.74)),
    "540": (0.1004, (0.86, 0.92), (0.60, 0.70)),
}
LENGTH_BINS = tuple(range(50, 601, 50))
QUALITIES = (7, 10, 17, 20, 47)


# ---- histograms {length: reads} (keys are text once read back from JSON) ---------------------------------

def merge(histograms) -> dict[int, int]:
    total: dict[int, int] = {}
    for histogram in histograms:
        for length, reads in histogram.items():
            total[int(length)] = total.get(int(length), 0) + reads
    return total


def reads_of(h: dict[int, int], at_least: int = 1) -> int:
    return sum(n for length, n in h.items() if length >= at_least)


def bases_of(h: dict[int, int]) -> int:
    return sum(length * n for length, n in h.items())


def mean_of(h: dict[int, int]) -> float:
    reads = reads_of(h)
    return bases_of(h) / reads if reads else 0.0


def median_of(h: dict[int, int]) -> int:
    counted, half = 0, reads_of(h) / 2
    for length in sorted(k for k in h if k > 0):
        counted += h[length]
        if counted >= half:
            return length
    return 0


def mode_of(h: dict[int, int]) -> int:
    found = [(n, length) for length, n in h.items() if length > 0]
    return max(found)[1] if found else 0


def longest(h: dict[int, int]) -> int:
    return max((length for length, n in h.items() if n and length > 0), default=0)


# ---- the metrics tables ---------------------------------------------------------------------------------

def analysis_metrics(rng: random.Random, chip: str, reads: int) -> dict:
    """Wells and beads behind `reads` final library reads: adjusted = empty + pinned + ignored + bead."""
    excluded_share, loading_range, pass_range = CHIP_PROFILES[chip]
    lib = round(reads / rng.uniform(*pass_range))
    tf = max(1, int(lib * rng.uniform(0.006, 0.012)))
    live = lib + tf
    dud = int(live * rng.uniform(0.0004, 0.003))
    bead = live + dud
    adjusted = round(bead / rng.uniform(*loading_range))
    pinned = int(adjusted * rng.uniform(0.00002, 0.0002))
    ignored = int(adjusted * rng.uniform(0.004, 0.009))
    empty = adjusted - bead - pinned - ignored
    excluded = round(adjusted * excluded_share / (1 - excluded_share))
    cf, ie, dr = rng.uniform(0.45, 0.7), rng.uniform(0.35, 0.6), rng.uniform(0.1, 0.2)
    return {
        "total": adjusted + excluded, "excluded": excluded, "adjusted_addressable": adjusted, "bead": bead,
        "empty": empty, "pinned": pinned, "ignored": ignored, "dud": dud, "amb": 0, "live": live,
        "tf": tf, "lib": lib, "libFinal": reads, "tfFinal": int(tf * rng.uniform(0.88, 0.96)),
        "loading": round(100.0 * bead / adjusted, 6),
        "sysCF": round(cf, 6), "sysIE": round(ie, 6), "sysDR": round(dr, 6),
        "libLive": 0, "libKp": 0, "libMix": 0, "tfLive": 0, "tfKp": 0, "tfMix": 0, "keypass_all_beads": 0,
        "lib_pass_basecaller": 0, "lib_pass_cafie": 0, "washout": 0, "washout_ambiguous": 0,
        "washout_dud": 0, "washout_library": 0, "washout_live": 0, "washout_test_fragment": 0,
    }


def quality_metrics(datasets: list[dict]) -> dict:
    """Read lengths: all bases (q0) and the prefixes that keep Q17 and Q20 on average."""
    row = {}
    for prefix, key in (("q0", "length"), ("q17", "Q17"), ("q20", "Q20")):
        h = merge(d[key] for d in datasets)
        mean = round(mean_of(h), 6)
        row[f"{prefix}_reads"] = reads_of(h)
        row[f"{prefix}_bases"] = str(bases_of(h))
        # q20's mean length is an integer column on the real server, q0/q17's are floats.
        row[f"{prefix}_mean_read_length"] = int(mean) if prefix == "q20" else mean
        row[f"{prefix}_median_read_length"] = median_of(h)
        row[f"{prefix}_mode_read_length"] = mode_of(h)
        row[f"{prefix}_max_read_length"] = longest(h)
        for length in (50, 100, 150):
            row[f"{prefix}_{length}bp_reads"] = reads_of(h, length)
    return row


def lib_metrics(rng: random.Random, analysis: dict, datasets: list[dict], genome: str) -> dict:
    """Library metrics: key signal and phasing (drawn), and the alignment summary of the reads."""
    mapped = sum(d["mapped_reads"] for d in datasets)
    mapped_bases = sum(d["mapped_bases"] for d in datasets)
    mismatches = sum(d["mismatches"] for d in datasets)
    row = {"totalNumReads": sum(d["read_count"] for d in datasets), "aveKeyCounts": rng.randint(70, 105),
           "sysSNR": round(rng.uniform(18, 30), 6), "cf": analysis["sysCF"], "ie": analysis["sysIE"],
           "dr": analysis["sysDR"], "align_sample": 0,
           "raw_accuracy": round(100.0 * (1 - mismatches / mapped_bases), 2) if mapped_bases else 0.0,
           "genome": genome, "Genome_Version": "1", "Index_Version": "tmap-f3",
           "genomesize": str(genome_size(genome)), "total_mapped_reads": str(mapped),
           "total_mapped_target_bases": str(mapped_bases), "duplicate_reads": None}
    for q in QUALITIES:
        h = merge(d[f"AQ{q}"] for d in datasets)
        row[f"q{q}_alignments"] = reads_of(h)
        row[f"q{q}_mapped_bases"] = str(bases_of(h))
        row[f"q{q}_mean_alignment_length"] = int(mean_of(h))
        row[f"q{q}_longest_alignment"] = longest(h)
        for length in LENGTH_BINS:
            row[f"i{length}Q{q}_reads"] = reads_of(h, length)
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
