"""Regenerate the demo's sequencing files (reference genomes, panel BEDs, BAMs, read summary) with pysam.

    python scripts/make_demo_data.py

Writes torrentlite/data/demo/; the same seed always gives the same reads.
"""
import argparse
import time
from pathlib import Path

from torrentlite.store.demo_bam import write_demo_data
from torrentlite.store.demo_files import PACKAGE_DATA


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PACKAGE_DATA, help="target folder (default: the package's)")
    args = parser.parse_args()
    started = time.monotonic()
    summary = write_demo_data(args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    for key, run in summary["runs"].items():
        counts = ", ".join(f"{d['prefix']} {d['read_count']}" for d in run["datasets"])
        print(f"{key}: {counts}")
    print(f"{args.out}: {size / 1e6:.1f} MB in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
