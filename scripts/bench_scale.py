#!/usr/bin/env python3
"""How the API's cost grows with the archive: the same requests on 10,000, 100,000 (and, with
--million, 1,000,000) reports with their experiments, metrics and plugin results.

For each size: build the dataset (scripts/bench_api.py's loader), start the server, then drive each
request with 2 connections for a few seconds, every request asking for a random page, report or
name, with an ignored `_` parameter unique to the request (as browsers' cache busters do), so
nothing is answered from reused pages, and record p50/p99, the database size, the load
time and the server's RSS. Prints a table and writes an SVG plot of p50 against size.

Usage: python scripts/bench_scale.py [--sizes 10000,100000] [--million] [--seconds S] [--svg FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_api  # noqa: E402
import bench_writes  # noqa: E402
import loadgen  # noqa: E402

PAGES = 100  # random pages among the first 100: what people page through, the same work at any size
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def queries(n: int, first: int) -> list[tuple[str, str, int, int]]:
    """(name, path template, spread, base) of the requests measured at size n (report ids first..)."""
    return [
        ("list, random page", "/rundb/api/v1/results/?limit=20&offset={n}&_={u}", 20 * PAGES, 0),
        ("name search", "/rundb/api/v1/results/?resultsName__icontains=run{n}_&limit=20&_={u}", n - 1, 0),
        ("ordered via experiment",
         "/rundb/api/v1/results/?order_by=-experiment__date&limit=20&offset={n}&_={u}", 20 * PAGES, 0),
        ("detail", "/rundb/api/v1/results/{n}/?_={u}", n - 1, first),
    ]


def measure_size(n: int, seconds: float, workdir: Path) -> dict:
    data_dir = workdir / f"data-{n}"
    load_seconds, key, _ = bench_api.build_dataset(data_dir, n)
    db_mb = sum(f.stat().st_size for f in data_dir.glob("torrentlite.sqlite3*")) / 1e6
    env = {**os.environ, "PYTHONPATH": str(bench_api.REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    port = bench_api.free_port()
    server = subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--data-dir", str(data_dir),
                               "--port", str(port), "--no-trust-loopback", "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        bench_api.wait_port(port, server)
        headers = {"Authorization": f"ApiKey ionadmin:{key}"}
        last = json.loads(bench_api.fetch(port, "/rundb/api/v1/results/?limit=1", headers))["objects"][0]["id"]
        first = last - n + 1
        figures = {name: loadgen.measure(port, path, headers, 2, seconds, spread=spread, base=base)
                   for name, path, spread, base in queries(n, first)}
        uri = f"/rundb/api/v1/results/{first + n // 2}/"
        figures["write (PATCH)"] = bench_writes.measure(port, headers, 2, seconds, lambda: (
            "PATCH", uri, {"status": bench_writes.unique("scale_")[:40]}, 202))
        rss = psutil.Process(server.pid).memory_info().rss / 1e6
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"n": n, "load": load_seconds, "db_mb": db_mb, "rss": rss, "figures": figures}


def svg_plot(runs: list[dict], path: Path) -> None:
    """p50 (ms, log scale) against reports (log scale), one line per request."""
    import math

    width, height, left, bottom, top, right = 640, 360, 60, 40, 20, 190
    names = list(runs[0]["figures"])
    xs = [math.log10(r["n"]) for r in runs]
    values = [r["figures"][name]["p50"] for r in runs for name in names]
    # Whole decades, so the axis always shows at least two labelled ticks.
    lo, hi = math.floor(math.log10(max(min(values), 0.05))), math.ceil(math.log10(max(values) * 1.01))
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1

    def px(x):
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def py(v):
        return height - bottom - (math.log10(max(v, 0.05)) - lo) / (hi - lo) * (height - bottom - top)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
           f'<text x="{(left + width - right) / 2}" y="{height - 8}" text-anchor="middle">reports</text>',
           f'<text x="14" y="{(top + height - bottom) / 2}" transform="rotate(-90 14 {(top + height - bottom) / 2})" '
           f'text-anchor="middle">p50 latency (ms, log)</text>']
    for r in runs:
        out.append(f'<text x="{px(math.log10(r["n"]))}" y="{height - bottom + 14}" text-anchor="middle">'
                   f'{r["n"]:,}</text>')
    for tick in (0.1, 1, 10, 100, 1000):
        if lo <= math.log10(tick) <= hi:
            out.append(f'<text x="{left - 6}" y="{py(tick) + 4}" text-anchor="end">{tick:g}</text>')
            out.append(f'<line x1="{left}" y1="{py(tick)}" x2="{width - right}" y2="{py(tick)}" stroke="#ddd"/>')
    for i, name in enumerate(names):
        color = COLORS[i % len(COLORS)]
        points = " ".join(f"{px(math.log10(r['n'])):.1f},{py(r['figures'][name]['p50']):.1f}" for r in runs)
        out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{width - right + 10}" y="{top + 16 * i + 10}" fill="{color}">{name}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 reports (minutes to load, ~6 GB)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--svg", type=Path, default=None, help="write the plot here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    workdir = Path(tempfile.mkdtemp(prefix="tl-scale-"))
    runs = []
    try:
        for n in sizes:
            print(f"{n:,} reports …", flush=True)
            runs.append(measure_size(n, args.seconds, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nGET load by {loadgen.name()}, 2 connections; p50 / p99 in ms")
    names = list(runs[0]["figures"])
    print(f"{'reports':>10} " + " ".join(f"{name:>24}" for name in names) + f" {'load s':>7} {'DB MB':>7} {'RSS MB':>7}")
    for r in runs:
        cells = " ".join(f"{r['figures'][k]['p50']:>11.2f} / {r['figures'][k]['p99']:>9.2f}" for k in names)
        print(f"{r['n']:>10,} {cells} {r['load']:>7.1f} {r['db_mb']:>7.0f} {r['rss']:>7.0f}")
    if len(runs) > 1:
        print("\np50 at the largest size / p50 at the smallest: " + ", ".join(
            f"{k} {runs[-1]['figures'][k]['p50'] / max(runs[0]['figures'][k]['p50'], 1e-9):.2f}x" for k in names))
    if args.svg:
        svg_plot(runs, args.svg)
        print(f"plot written to {args.svg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
