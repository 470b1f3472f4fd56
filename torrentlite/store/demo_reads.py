"""Simulated Ion reads for the demo runs (fixed seed) and the statistics the pipeline computes from them."""
from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator, Optional

from .demo_genome import amplicons, sequences, variants

READ_SEED = 90210
COMPLEMENT = str.maketrans("ACGT", "TGCA")
JUNK_SHARE = 0.015  # adapter dimers and other reads that do not align
ALIGNMENT_QUALITIES = (7, 10, 17, 20, 47)


@dataclass
class Read:
    """One read. seq and qual run as the reads were sequenced; contig None means it does not align."""
    name: str
    seq: str
    qual: list[int]
    contig: Optional[str] = None
    pos: int = 0  # 0-based leftmost reference position
    cigar: list[tuple[int, int]] = field(default_factory=list)  # (op, length) in reference orientation
    reverse: bool = False
    mismatches: list[int] = field(default_factory=list)  # read positions (as sequenced) differing from the reference


@dataclass(frozen=True)
class Dataset:
    """One basecaller dataset of a run: a barcode (or the whole non-barcoded run)."""
    prefix: str  # file prefix: rawlib, IonXpress_001_rawlib, nomatch_rawlib
    sample: str
    reads: int
    alleles: tuple[tuple[str, float], ...] = ()  # planted variant name -> fraction of reads carrying it


@dataclass(frozen=True)
class ReadPlan:
    """How a run's reads are drawn: whole-genome fragments of a mean length, or whole amplicons."""
    genome: str
    mean_length: float = 0.0
    sd_length: float = 0.0
    amplicon: bool = False


def revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def error_rate(position: int) -> float:
    """Ion reads get worse towards their 3' end."""
    return 0.003 + 0.04 * (position / 200) ** 2


def _quality(rng: random.Random, position: int, is_error: bool) -> int:
    q = -10 * math.log10(error_rate(position)) + rng.gauss(0, 2.5)
    return max(5, min(38, int(round(q)) - (12 if is_error else 0)))


def _amplicon_weights(rng: random.Random) -> list[float]:
    # Most amplicons amplify evenly; a few run low, as in real panels.
    return [rng.uniform(0.05, 0.2) if rng.random() < 0.12 else rng.uniform(0.7, 1.3) for _ in amplicons()]


def simulate(run_key: str, plan: ReadPlan, datasets: list[Dataset], runid: str) -> dict[str, list[Read]]:
    """Reads per dataset prefix, the same on every call."""
    rng = random.Random(f"{READ_SEED}:{run_key}")
    genome = sequences(plan.genome)
    planted = {(v.contig, v.pos): v for v in variants() if v.genome == plan.genome}
    weights = _amplicon_weights(rng) if plan.amplicon else None
    contigs = list(genome)
    sizes = [len(genome[c]) for c in contigs]
    out, serial = {}, 0
    for dataset in datasets:
        reads = []
        for _ in range(dataset.reads):
            serial += 1
            name = f"{runid}:{serial // 997:05d}:{serial % 997 * 7:05d}"
            if rng.random() < JUNK_SHARE:
                length = rng.randint(25, 70)
                reads.append(Read(name, "".join(rng.choice("ACGT") for _ in range(length)),
                                  [rng.randint(5, 18) for _ in range(length)]))
                continue
            if plan.amplicon:
                amp = rng.choices(amplicons(), weights=weights)[0]
                contig, span = amp.contig, amp.end - amp.start
                reverse = rng.random() < 0.5
                length = span if rng.random() > 0.15 else rng.randint(30, span)
                start = amp.end - length if reverse else amp.start
            else:
                contig = rng.choices(contigs, weights=sizes)[0]
                length = max(25, int(rng.gauss(plan.mean_length, plan.sd_length)))
                start = rng.randint(0, len(genome[contig]) - length - 10)
                reverse = rng.random() < 0.5
            reads.append(_read(rng, name, genome[contig], contig, start, length, reverse, planted,
                               dict(dataset.alleles)))
        out[dataset.prefix] = reads
    return out


def _read(rng, name, ref, contig, start, length, reverse, planted, fractions) -> Read:
    """Walk the reference from start, emitting read bases with the planted alleles and sequencing errors."""
    carried = {key for key, v in planted.items() if rng.random() < fractions.get(v.name, 0.0)}
    bases, cigar, mismatches, errors = [], [], [], set()
    j, k = start, 0

    def op(code, n=1):
        if cigar and cigar[-1][0] == code:
            cigar[-1] = (code, cigar[-1][1] + n)
        else:
            cigar.append((code, n))

    while k < length and j < len(ref):
        here = length - 1 - k if reverse else k  # position in the read as sequenced
        variant = planted.get((contig, j)) if (contig, j) in carried else None
        if variant is not None and len(variant.ref) > 1 and 0 < k < length - 1:
            op(0)
            bases.append(ref[j])
            op(2, len(variant.ref) - 1)
            mismatches.append(here)
            j += len(variant.ref)
            k += 1
            continue
        roll, p = rng.random(), error_rate(here)
        if 0 < k < length - 1 and roll < p * 0.35:  # an extra base (homopolymer over-call)
            bases.append(ref[j])
            op(1)
            errors.add(here)
            mismatches.append(here)
            k += 1
            continue
        if 0 < k < length - 1 and roll < p * 0.7:  # a missed base
            op(2)
            mismatches.append(here)
            j += 1
            continue
        base = variant.alt if variant is not None else ref[j]
        if roll < p:
            base = "ACGT"[("ACGT".index(base) + rng.randint(1, 3)) % 4]
            errors.add(here)
        if base != ref[j]:
            mismatches.append(here)
        bases.append(base)
        op(0)
        j += 1
        k += 1
    aligned = "".join(bases)
    seq = revcomp(aligned) if reverse else aligned
    qual = [_quality(rng, i, i in errors) for i in range(len(seq))]
    return Read(name, seq, qual, contig, start, cigar, reverse, sorted(mismatches))


# ---- statistics -----------------------------------------------------------------------------------------

def quality_length(qual: list[int], max_error: float) -> int:
    """The longest prefix whose expected error rate (from its base qualities) stays within max_error."""
    best, expected = 0, 0.0
    for i, q in enumerate(qual, start=1):
        expected += 10 ** (-q / 10)
        if expected <= max_error * i:
            best = i
    return best


def aligned_length(read: Read, quality: int) -> int:
    """ionstats' AQ length: the longest aligned prefix with at most 10^(-q/10) mismatches per base."""
    length = len(read.seq)
    rate = 10 ** (-quality / 10)
    best = 0
    for end in [*read.mismatches, length]:
        errors = sum(1 for m in read.mismatches if m < end)
        if end and errors <= rate * end:
            best = max(best, end)
    return best


def dataset_stats(reads: list[Read]) -> dict:
    """What BaseCaller and ionstats report for one dataset; histograms as {length: reads}."""
    lengths = Counter(len(r.seq) for r in reads)
    q17 = Counter(quality_length(r.qual, 10 ** -1.7) for r in reads)
    q20 = Counter(quality_length(r.qual, 0.01) for r in reads)
    mapped = [r for r in reads if r.contig is not None]
    aligned = {f"AQ{q}": dict(Counter(aligned_length(r, q) for r in mapped)) for q in ALIGNMENT_QUALITIES}
    return {"read_count": len(reads), "total_bases": sum(len(r.seq) for r in reads),
            "Q20_bases": sum(1 for r in reads for q in r.qual if q >= 20), "mapped_reads": len(mapped),
            "mapped_bases": sum(len(r.seq) for r in mapped),
            "mismatches": sum(len(r.mismatches) for r in mapped), "length": dict(lengths), "Q17": dict(q17),
            "Q20": dict(q20), **aligned}


def sorted_for_bam(reads: list[Read], contigs: list[str]) -> Iterator[Read]:
    """Aligned reads in the header's contig order by position, then the reads that did not align."""
    order = {name: i for i, name in enumerate(contigs)}
    yield from sorted((r for r in reads if r.contig is not None), key=lambda r: (order[r.contig], r.pos))
    yield from (r for r in reads if r.contig is None)
