#!/usr/bin/env python
"""BED publisher, validation: check the uploaded BED file and write the four forms plans and plugins use.

Usage (as the server runs it): validate.py <upload id> <upload dir> <BED file> <meta.json>
Writes <upload dir>/<reference>/{unmerged,merged}/{detail,plain}/<file name>; counts go into meta.json.
"""
from __future__ import print_function

import io
import json
import os
import shutil
import sys

from ion.plugin.bedParser import IonBedReader

import publisher_api


def merge(rows):
    """Overlapping or touching intervals of each chromosome joined, chromosomes in order of appearance."""
    order, spans = [], {}
    for chrom, start, end in rows:
        if chrom not in spans:
            order.append(chrom)
            spans[chrom] = []
        spans[chrom].append((start, end))
    merged = []
    for chrom in order:
        current = None
        for start, end in sorted(spans[chrom]):
            if current is not None and start <= current[1]:
                current[1] = max(current[1], end)
            else:
                if current is not None:
                    merged.append((chrom, current[0], current[1]))
                current = [start, end]
        merged.append((chrom, current[0], current[1]))
    return merged


def write_rows(path, header, rows):
    with io.open(path, "w", encoding="utf-8") as out:
        if header:
            out.write(header + u"\n")
        for row in rows:
            out.write(u"\t".join(str(value) for value in row) + u"\n")


def main(upload_id, upload_dir, bed_file, meta_file):
    with io.open(meta_file, encoding="utf-8") as handle:
        meta = json.load(handle)
    reference = str(meta.get("reference") or "").strip()
    if not reference or "/" in reference or reference.startswith("."):
        publisher_api.fail(upload_id, "the upload's meta needs the short name of its reference")
    reader = IonBedReader(filename=bed_file)
    if not reader.columns:
        publisher_api.fail(upload_id, "%s is not a BED file" % os.path.basename(bed_file))
    table = reader.load()
    reader.close()
    if not table or not table.get("chrom"):
        publisher_api.fail(upload_id, "%s has no regions, or lines with differing columns"
                           % os.path.basename(bed_file))
    rows = list(zip(table["chrom"], table["chromStart"], table["chromEnd"]))
    for number, (chrom, start, end) in enumerate(rows, start=1):
        if start is None or end is None or start < 0 or end < start:
            publisher_api.fail(upload_id, "region %d (%s) has an invalid start or end" % (number, chrom))
    name = os.path.basename(bed_file)
    header = " ".join(["track"] + ["%s=%s" % (k, v) if v else k for track in reader.header.track
                                   for k, v in sorted(track.items())]) if reader.header.track else ""
    names = table.get("name") or table.get("id")
    plain = [row + (names[i],) for i, row in enumerate(rows)] if names else rows
    merged = merge(rows)
    targets = {}
    for kind in ("unmerged/detail", "unmerged/plain", "merged/detail", "merged/plain"):
        folder = os.path.join(upload_dir, reference, kind)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        targets[kind] = os.path.join(folder, name)
    shutil.copyfile(bed_file, targets["unmerged/detail"])
    write_rows(targets["unmerged/plain"], "", plain)
    write_rows(targets["merged/detail"], header, merged)
    write_rows(targets["merged/plain"], "", merged)
    meta.update(num_targets=len(rows), num_bases=sum(end - start for _, start, end in merged),
                hotspot=bool(meta.get("hotspot")), validate_files=[targets[k] for k in sorted(targets)])
    with io.open(meta_file, "w", encoding="utf-8") as handle:
        handle.write(u"%s" % json.dumps(meta, indent=4, sort_keys=True))
    publisher_api.patch("contentupload", upload_id, meta=meta)
    print("validated %s: %d regions, %d bases after merging" % (name, len(rows), meta["num_bases"]))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(1)
    main(*sys.argv[1:])
