"""The demo's synthetic reference genomes, AmpliSeq-style panel and planted variants (fixed seed)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

GENOME_SEED = 7041

# short name -> (display name, species, [(contig, length)])
GENOMES = {
    "demo_ecoli": ("Demo microbe (synthetic, stands in for E. coli DH10B)", "synthetic", (("contig1", 40_000),)),
    "demo_hg": ("Demo human-like genome (synthetic, 4 chromosomes)", "synthetic",
                (("chr1", 14_000), ("chr2", 12_000), ("chr3", 10_000), ("chr4", 8_000))),
}
PANEL = "Demo_AmpliSeq_Panel"  # the target-regions BED's name; the hotspots BED adds _Hotspots
AMPLICONS_PER_CONTIG = 6


@dataclass(frozen=True)
class Amplicon:
    name: str
    gene: str
    contig: str
    start: int  # 0-based, as in BED
    end: int


@dataclass(frozen=True)
class Variant:
    """A difference planted in the samples' reads: an SNV (ref and alt one base) or a deletion."""
    genome: str
    contig: str
    pos: int  # 0-based
    ref: str
    alt: str
    name: str


@lru_cache(maxsize=None)
def sequences(short: str) -> dict[str, str]:
    """contig -> sequence; GC around 45 %, with the homopolymer runs Ion reads stumble on."""
    rng = random.Random(GENOME_SEED + sorted(GENOMES).index(short))
    contigs = {}
    for name, length in GENOMES[short][2]:
        bases = []
        while len(bases) < length:
            base = rng.choices("ACGT", weights=(0.275, 0.225, 0.225, 0.275))[0]
            bases.extend(base * (rng.randint(2, 6) if rng.random() < 0.08 else 1))
        contigs[name] = "".join(bases[:length])
    return contigs


def fasta_text(short: str) -> str:
    lines = []
    for name, seq in sequences(short).items():
        lines.append(f">{name}")
        lines.extend(seq[i:i + 60] for i in range(0, len(seq), 60))
    return "\n".join(lines) + "\n"


def genome_size(short: str) -> int:
    return sum(length for _name, length in GENOMES[short][2])


@lru_cache(maxsize=None)
def amplicons() -> tuple[Amplicon, ...]:
    """The panel: amplicons of 110-180 bp spread over demo_hg's chromosomes, two genes per chromosome."""
    rng = random.Random(GENOME_SEED * 3)
    found = []
    for c, (contig, length) in enumerate(GENOMES["demo_hg"][2], start=1):
        slot = (length - 1000) // AMPLICONS_PER_CONTIG
        for i in range(AMPLICONS_PER_CONTIG):
            start = 500 + i * slot + rng.randint(0, slot - 200)
            found.append(Amplicon(f"AMP_{c}_{i + 1}", f"GENE{c}{'AB'[i // 3]}", contig, start,
                                  start + rng.randint(110, 180)))
    return tuple(found)


@lru_cache(maxsize=None)
def variants() -> tuple[Variant, ...]:
    """Planted variants: SNVs and one deletion inside amplicons of demo_hg, two SNVs in demo_ecoli."""
    hg = sequences("demo_hg")
    planted = []
    for index, amp in enumerate(amplicons()[1::5]):
        pos = amp.start + 40 + index * 7
        ref = hg[amp.contig][pos]
        if index == 2:  # a 3-base deletion, written VCF-style with its anchor base
            planted.append(Variant("demo_hg", amp.contig, pos, hg[amp.contig][pos:pos + 4], ref, f"DEL{index}"))
        else:
            alt = "ACGT"[("ACGT".index(ref) + 2) % 4]
            planted.append(Variant("demo_hg", amp.contig, pos, ref, alt, f"SNV{index}"))
    ecoli = sequences("demo_ecoli")["contig1"]
    for index, pos in enumerate((12_345, 27_182)):
        alt = "ACGT"[("ACGT".index(ecoli[pos]) + 1) % 4]
        planted.append(Variant("demo_ecoli", "contig1", pos, ecoli[pos], alt, f"ECO{index}"))
    return tuple(planted)


def hotspots() -> list[tuple[Variant, str]]:
    """Hotspot sites of the panel with the amplicon each lies in: the planted variants of demo_hg."""
    found = []
    for variant in variants():
        if variant.genome != "demo_hg":
            continue
        amp = next(a for a in amplicons() if a.contig == variant.contig and a.start <= variant.pos < a.end)
        found.append((variant, amp.name))
    return found


def targets_bed() -> str:
    """The panel's designed BED (bedDetail, as AmpliSeq designs are published)."""
    lines = [f'track name="{PANEL}" description="Demo AmpliSeq panel, {len(amplicons())} amplicons" '
             'type=bedDetail ionVersion=4.0']
    for amp in amplicons():
        lines.append(f"{amp.contig}\t{amp.start}\t{amp.end}\t{amp.name}\t.\tGENE_ID={amp.gene};Pool=1")
    return "\n".join(lines) + "\n"


def hotspots_bed() -> str:
    """The panel's hotspots BED: one line per site, REF/OBS/ANCHOR as Torrent Suite's hotspot files carry."""
    hg = sequences("demo_hg")
    lines = [f'track name="{PANEL}_Hotspots" description="Demo hotspots" type=bedDetail ionVersion=4.0']
    for variant, amp in hotspots():
        if len(variant.ref) == 1:
            start, end, ref, obs = variant.pos, variant.pos + 1, variant.ref, variant.alt
        else:  # a deletion: the deleted bases after the anchor
            start, end, ref, obs = variant.pos + 1, variant.pos + len(variant.ref), variant.ref[1:], ""
        anchor = hg[variant.contig][start - 1]
        lines.append(f"{variant.contig}\t{start}\t{end}\t{variant.name}\tREF={ref};OBS={obs};ANCHOR={anchor}\t{amp}")
    return "\n".join(lines) + "\n"
