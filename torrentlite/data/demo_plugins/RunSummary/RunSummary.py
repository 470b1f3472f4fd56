#!/usr/bin/env python3
"""RunSummary: read-length histogram and reads per barcode, drawn as SVG in the report."""
# A plugin is a class named like its folder and file, derived from IonPlugin. The framework runs
# `python3 RunSummary.py` in the plugin's output folder, where it finds startplugin.json and
# barcodes.json; whatever it writes there is served under the report's plugin_out/ URL.
import json
import os
from collections import Counter

from ion.plugin import IonPlugin, PluginCLI, RunLevel, RunType

BIN = 10  # bases per histogram bar


class RunSummary(IonPlugin):
    """Read lengths and reads per barcode of a run, counted from its BAM files."""
    version = "1.0.0"
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    runlevels = [RunLevel.DEFAULT]

    def launch(self, data=None):
        with open("barcodes.json") as handle:
            barcodes = json.load(handle)  # one entry per barcode, or "nonbarcoded"
        lengths, per_barcode, source = count_reads(barcodes, self.startplugin["runinfo"])
        total = sum(lengths.values())
        mean = sum(length * n for length, n in lengths.items()) / total if total else 0
        with open("RunSummary_block.html", "w") as html:
            html.write(page(lengths, per_barcode, total, mean, source))
        # results.json becomes this plugin result's `store` (readable through the REST API).
        self.results = {"total_reads": total, "mean_read_length": round(mean, 1), "reads_per_barcode": per_barcode,
                        "source": source}
        return True


def count_reads(barcodes, runinfo):
    """Read-length counts and reads per barcode: from the BAMs with pysam, else from the pipeline's stats."""
    try:
        import pysam
    except ImportError:  # e.g. a grid node without pysam: use what BaseCaller leaves in basecaller_results/
        return from_ionstats(barcodes, runinfo["basecaller_dir"])
    lengths, per_barcode = Counter(), {}
    for name, entry in sorted(barcodes.items()):
        bam_path = entry["bam_filepath"]
        if not os.path.exists(bam_path):
            continue
        count = 0
        with pysam.AlignmentFile(bam_path, check_sq=False) as bam:
            for read in bam.fetch(until_eof=True):  # every read, aligned or not
                if read.is_secondary or read.is_supplementary:
                    continue
                lengths[read.query_length] += 1
                count += 1
        per_barcode[name] = count
    return lengths, per_barcode, "BAM files"


def from_ionstats(barcodes, basecaller_dir):
    with open(os.path.join(basecaller_dir, "ionstats_basecaller.json")) as handle:
        histogram = json.load(handle)["full"]["read_length_histogram"]
    lengths = Counter({length: n for length, n in enumerate(histogram) if n})
    return lengths, {name: entry["read_count"] for name, entry in sorted(barcodes.items())}, "ionstats_basecaller.json"


def bar_chart(values, labels, title, x_label, width=560, height=220):
    """A small SVG bar chart: one bar per value, labels under every few bars."""
    top = max(values) if values else 1
    step = width / max(len(values), 1)
    every = max(1, len(values) // 10)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">' % (width + 60, height + 60),
             '<title>%s</title>' % title]
    for i, value in enumerate(values):
        bar = (height - 10) * value / top
        parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2b7bb9"><title>%s: %d</title></rect>'
                     % (50 + i * step, 10 + height - 10 - bar, max(step - 1, 1), bar, labels[i], value))
        if i % every == 0:
            parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>'
                         % (50 + i * step + step / 2, height + 22, labels[i]))
    parts.append('<text x="45" y="18" font-size="10" text-anchor="end">%d</text>' % top)
    parts.append('<text x="45" y="%d" font-size="10" text-anchor="end">0</text>' % height)
    parts.append('<text x="%d" y="%d" font-size="12" text-anchor="middle">%s</text>'
                 % (50 + width / 2, height + 45, x_label))
    parts.append("</svg>")
    return "\n".join(parts)


def page(lengths, per_barcode, total, mean, source):
    longest = max(lengths) if lengths else 0
    bins = [sum(lengths.get(length, 0) for length in range(start, start + BIN))
            for start in range(0, longest + 1, BIN)]
    histogram = bar_chart(bins, ["%d" % (i * BIN) for i in range(len(bins))], "Read length histogram",
                          "read length (bases)")
    names = list(per_barcode)
    barcode_chart = bar_chart([per_barcode[n] for n in names], names, "Reads per barcode", "barcode",
                              width=max(120, 90 * len(names)))
    rows = "".join("<tr><td>%s</td><td>%d</td></tr>" % (name, n) for name, n in per_barcode.items())
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Run summary</title></head><body>"
            "<p><b>%d</b> reads, mean length <b>%.1f</b> bases (counted from the %s).</p>"
            "<h3>Read length</h3>%s<h3>Reads per barcode</h3>%s"
            "<table><tr><th>Barcode</th><th>Reads</th></tr>%s</table></body></html>\n"
            % (total, mean, source, histogram, barcode_chart, rows))


if __name__ == "__main__":
    PluginCLI()
