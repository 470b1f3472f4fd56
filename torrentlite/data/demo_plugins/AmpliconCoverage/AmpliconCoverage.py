#!/usr/bin/env python3
"""AmpliconCoverage: depth and uniformity of each amplicon of a targeted run, per barcode."""
# Reads each barcode's aligned BAM (bam_filepath in barcodes.json) over the regions of its target BED
# (target_region_filepath, the BED the plan named). pysam is part of torrentlite's install, so every
# plugin can read BAM files with it. The table, a CSV per barcode and an SVG plot go into the report;
# results.json (the plugin result's store) carries the summary per barcode.
import csv
import json
import os

import pysam

from ion.plugin import IonPlugin, PluginCLI, RunLevel, RunType

COLOURS = ("#2b7bb9", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e")


class AmpliconCoverage(IonPlugin):
    """Mean read depth and uniformity of every amplicon in the run's target regions, per barcode."""
    version = "1.0.0"
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    runlevels = [RunLevel.DEFAULT]

    def launch(self, data=None):
        with open("barcodes.json") as handle:
            barcodes = json.load(handle)
        summary, depths = {}, {}
        for name, entry in sorted(barcodes.items()):
            bed, bam = entry.get("target_region_filepath"), entry.get("bam_filepath")
            if not bed or not entry.get("aligned") or not os.path.exists(bam):
                continue  # nothing to measure: no target regions, or no aligned reads for this barcode
            amplicons = read_bed(bed)
            rows = measure(bam, amplicons)
            write_csv("%s.amplicon_coverage.csv" % name, rows)
            depths[name] = rows
            summary[name] = summarize(rows)
        if not summary:
            message = "This run names no target regions (BED file), so there is no amplicon coverage to show."
            with open("AmpliconCoverage_block.html", "w") as html:
                html.write("<html><body><p>%s</p></body></html>\n" % message)
            self.results = {"barcodes": {}, "message": message}
            return True
        with open("AmpliconCoverage_block.html", "w") as html:
            html.write(page(summary, depths))
        self.results = {"barcodes": summary, "amplicons": len(next(iter(depths.values())))}
        return True


def read_bed(path):
    """(contig, start, end, name) of each region; track and comment lines skipped."""
    regions = []
    with open(path) as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if line.startswith(("track", "browser", "#")) or len(fields) < 3:
                continue
            name = fields[3] if len(fields) > 3 else "%s:%s-%s" % tuple(fields[:3])
            regions.append((fields[0], int(fields[1]), int(fields[2]), name))
    return regions


def measure(bam_path, amplicons):
    """Per amplicon: reads starting inside it and the mean depth over its bases."""
    rows = []
    with pysam.AlignmentFile(bam_path) as bam:
        for contig, start, end, name in amplicons:
            # count_coverage gives A, C, G, T counts per base; their sum is the depth at that base.
            per_base = [sum(column) for column in zip(*bam.count_coverage(contig, start, end, quality_threshold=0))]
            reads = bam.count(contig, start, end)
            rows.append({"amplicon": name, "contig": contig, "start": start, "end": end, "reads": reads,
                         "mean_depth": round(sum(per_base) / len(per_base), 1), "per_base": per_base})
    return rows


def summarize(rows):
    """Mean depth over all target bases; uniformity = share of target bases at >= 20 % of that mean."""
    bases = [depth for row in rows for depth in row["per_base"]]
    mean = sum(bases) / len(bases) if bases else 0.0
    uniform = sum(1 for depth in bases if depth >= 0.2 * mean) / len(bases) if bases else 0.0
    low = [row["amplicon"] for row in rows if row["mean_depth"] < 0.2 * mean]
    return {"mean_depth": round(mean, 1), "uniformity": round(100 * uniform, 1), "amplicons_below_20pct": low}


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["amplicon", "contig", "start", "end", "reads", "mean_depth"])
        for row in rows:
            writer.writerow([row["amplicon"], row["contig"], row["start"], row["end"], row["reads"], row["mean_depth"]])


def plot(depths, width=640, height=240):
    """Mean depth of each amplicon, one line of dots per barcode."""
    names = [row["amplicon"] for row in next(iter(depths.values()))]
    top = max(row["mean_depth"] for rows in depths.values() for row in rows) or 1
    step = width / max(len(names), 1)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">' % (width + 60, height + 80),
             "<title>Mean depth per amplicon</title>"]
    for i, name in enumerate(names):
        parts.append('<text x="%.1f" y="%d" font-size="9" text-anchor="end" transform="rotate(-60 %.1f %d)">%s</text>'
                     % (50 + i * step + step / 2, height + 14, 50 + i * step + step / 2, height + 14, name))
    for colour, (barcode, rows) in zip(COLOURS * 4, sorted(depths.items())):
        points = " ".join("%.1f,%.1f" % (50 + i * step + step / 2, 10 + (height - 10) * (1 - row["mean_depth"] / top))
                          for i, row in enumerate(rows))
        parts.append('<polyline points="%s" fill="none" stroke="%s"><title>%s</title></polyline>'
                     % (points, colour, barcode))
    parts.append('<text x="45" y="14" font-size="10" text-anchor="end">%d</text>' % top)
    parts.append('<text x="45" y="%d" font-size="10" text-anchor="end">0</text>' % height)
    parts.append("</svg>")
    return "\n".join(parts)


def page(summary, depths):
    rows = "".join("<tr><td style='color:%s'>%s</td><td>%.1f</td><td>%.1f %%</td><td>%s</td>"
                   "<td><a href='%s.amplicon_coverage.csv'>CSV</a></td></tr>"
                   % (colour, name, s["mean_depth"], s["uniformity"], ", ".join(s["amplicons_below_20pct"]) or "-",
                      name)
                   for colour, (name, s) in zip(COLOURS * 4, sorted(summary.items())))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Amplicon coverage</title></head><body>"
            "<table><tr><th>Barcode</th><th>Mean depth</th><th>Uniformity</th><th>Amplicons below 20 %% of mean</th>"
            "<th></th></tr>%s</table><h3>Mean depth per amplicon</h3>%s</body></html>\n" % (rows, plot(depths)))


if __name__ == "__main__":
    PluginCLI()
