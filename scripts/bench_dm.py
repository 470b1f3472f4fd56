#!/usr/bin/env python3
"""Benchmark data management: a disk-usage scan of many report folders, and a large archive
with the server's API latency measured while it runs.

1. Builds a data directory with the demo runs plus N generated reports (default 1,000), each with
   its own experiment, raw-data folder and report folder (about 90 files across the four
   categories: raw .dat blocks, sigproc output, BAMs, plugin output, block folders), then times
   measuring every report's four categories from its files (what the server does when sizes are stale).
2. Puts one output-files category of --archive-mb MiB (default 1024) in a report, starts
   `python -m torrentlite serve` on 127.0.0.1, measures GET latency idle, then archives that
   category through the API and measures the same requests while the server's worker copies,
   flushes and removes the files. Prints the archive time and p50/p95 latency idle vs. busy.

Usage: python scripts/bench_dm.py [--reports N] [--archive-mb MB] [--data-dir DIR]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from torrentlite.app import build_app  # noqa: E402
from torrentlite.datamgmt import state  # noqa: E402
from torrentlite.settings import resolve  # noqa: E402
from torrentlite.setup_data import initialize  # noqa: E402

REPORT_FILES = (
    [f"sigproc_results/{n}" for n in ("1.wells", "analysis.bfmask.bin", "analysis.bfmask.stats", "sigproc.log",
                                      "Bead_density_raw.png", "processParameters.txt")]
    + [f"basecaller_results/{n}" for n in ("rawlib.basecaller.bam", "datasets_basecaller.json", "quality.summary",
                                           "basecaller.log", "rawlib.fastq", "unfiltered.untrimmed/a.bam")]
    + [f"plugin_out/{p}_out.{i}/{f}" for i, p in enumerate(("RunSummary", "coverage", "variants"))
       for f in ("drmaa_stdout.txt", "results.json", "out.html", "a.png", "b.bed", "c.txt")]
    + [f"block_X{x}_Y0/{f}" for x in range(4) for f in ("sigproc.log", "1.wells", "a.bam", "b.txt", "c.json")]
    + ["rawlib.bam", "rawlib.bam.bai", "ion_params_00.json", "version.txt", "log.html", "report.pdf",
       "alignment.summary", "barcodeList.txt", "expMeta.dat", "status.txt", "pgm_logs.zip"]
)
RAW_FILES = ([f"acq_{i:04d}.dat" for i in range(12)] + [f"thumbnail/acq_{i:04d}.dat" for i in range(8)]
             + ["explog.txt", "explog_final.txt", "InitLog.txt", "debug", "DataCollect.config"])


def _clone_sql(db, table: str, skip: tuple) -> tuple[str, list[str]]:
    cols = [r[1] for r in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall() if r[1] not in skip]
    return ", ".join(f'"{c}"' for c in cols), cols


def build(data_dir: Path, reports: int) -> list[int]:
    settings = resolve({"data_dir": str(data_dir)}, environ={})
    app = build_app(settings)
    initialize(settings, app.store, demo_data=True)
    db = app.store.db
    base = state.load_report(db, 1)
    storage_dir = Path(base.report_dir).parent
    raw_root = Path(base.exp_dir).parent
    exp_cols, _ = _clone_sql(db, "experiment", ("id", "expName", "unique", "expDir"))
    res_cols, _ = _clone_sql(db, "results", ("id", "resultsName", "reportLink", "experiment_id", "runid"))
    ids = []
    with app.store.write():
        for i in range(reports):
            name = f"bench_run_{i:05d}"
            db.execute_sql(f'INSERT INTO "experiment" ({exp_cols}, "expName", "unique", "expDir") '
                           f'SELECT {exp_cols}, ?, ?, ? FROM "experiment" WHERE "id" = ?',
                           (name, str(raw_root / name), str(raw_root / name), base.exp_id))
            exp_id = db.execute_sql("SELECT last_insert_rowid()").fetchone()[0]
            link = f"/output/{storage_dir.name}/Auto_{name}_{i:03d}/"
            db.execute_sql(f'INSERT INTO "results" ({res_cols}, "resultsName", "reportLink", "experiment_id", '
                           f'"runid") SELECT {res_cols}, ?, ?, ?, ? FROM "results" WHERE "id" = 1',
                           (f"Auto_{name}", link, exp_id, f"B{i:05d}"))
            ids.append(db.execute_sql("SELECT last_insert_rowid()").fetchone()[0])
    blob = os.urandom(2048)
    for pk in ids:
        report = state.load_report(db, pk)
        for root, files in ((Path(report.report_dir), REPORT_FILES), (Path(report.exp_dir), RAW_FILES)):
            for rel in files:
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blob[: 200 + (hash(rel) % 1800)])
    app.close()
    return ids


def scan(data_dir: Path, ids: list[int]) -> float:
    settings = resolve({"data_dir": str(data_dir)}, environ={})
    app = build_app(settings)
    start = time.perf_counter()
    for pk in ids:
        state.measure(app.store, pk)
    took = time.perf_counter() - start
    app.close()
    return took


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(conn, path, key) -> float:
    start = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"ApiKey ionadmin:{key}"})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status}")
    return time.perf_counter() - start


def _paths(count: int) -> list[str]:
    """Three reads a data-management page makes, each time for another page or report, so no
    rendered page is reused and idle and busy both measure the work of answering."""
    offset, pk = random.randrange(0, max(1, count - 20)), random.randrange(1, count + 1)
    return [f"/rundb/api/v1/compositedatamanagement/?limit=20&order_by=-timeStamp&offset={offset}",
            f"/rundb/api/v1/results/?limit=20&offset={offset}", f"/rundb/api/v1/compositedatamanagement/{pk}/"]


def _sample(conn, key, count: int, seconds: float = 0, until=None) -> list[float]:
    out, end = [], time.monotonic() + seconds
    while (until is None and time.monotonic() < end) or (until is not None and not until()):
        for path in _paths(count):
            out.append(_get(conn, path, key))
        time.sleep(0.02)
    return out


def archive_under_load(data_dir: Path, mb: int, count: int) -> dict:
    settings = resolve({"data_dir": str(data_dir)}, environ={})
    app = build_app(settings)
    report = state.load_report(app.store.db, 1)
    app.close()
    big = Path(report.report_dir) / "basecaller_results" / "big.basecaller.bam"
    chunk = os.urandom(8 * 1024 * 1024)
    with open(big, "wb") as handle:
        for _ in range(max(1, mb // 8)):
            handle.write(chunk)
    dest = Path(tempfile.mkdtemp(prefix="bench-archive-", dir=data_dir))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--data-dir", str(data_dir), "--port",
                             str(port), "--no-trust-loopback"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        key = subprocess.run([sys.executable, "-m", "torrentlite", "user", "key", "ionadmin", "--data-dir",
                              str(data_dir)], capture_output=True, text=True, env=env, check=True).stdout.strip()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(conn, "/rundb/api/v1/", key)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        idle = _sample(conn, key, count, seconds=5)
        body = json.dumps({"categories": ["output"], "backup_dir": str(dest)})
        start = time.perf_counter()
        conn.request("POST", "/rundb/api/v1/compositedatamanagement/1/archive/", body=body,
                     headers={"Authorization": f"ApiKey ionadmin:{key}", "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 202:
            raise RuntimeError(f"archive refused: {response.status}")
        poll = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def finished() -> bool:
            poll.request("GET", "/rundb/api/v1/compositedatamanagement/1/",
                         headers={"Authorization": f"ApiKey ionadmin:{key}"})
            answer = json.loads(poll.getresponse().read())
            return answer["output_state"] in ("Archived", "Error")

        busy = _sample(conn, key, count, until=finished)
        took = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"mb": mb, "archive_s": took, "idle": idle, "busy": busy}


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--archive-mb", type=int, default=1024)
    parser.add_argument("--data-dir", help="build here (default: a temporary folder, removed at the end)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dm-") as tmp:
        data_dir = Path(args.data_dir or tmp) / "data"
        t0 = time.perf_counter()
        ids = build(data_dir, args.reports)
        print(f"built {len(ids)} report folders ({len(REPORT_FILES) + len(RAW_FILES)} files each) "
              f"in {time.perf_counter() - t0:.1f} s")
        took = scan(data_dir, ids)
        print(f"disk-usage scan of {len(ids)} reports (4 categories each): {took:.2f} s, "
              f"{took / len(ids) * 1000:.2f} ms per report")
        result = archive_under_load(data_dir, args.archive_mb, len(ids) + 3)
        idle50, idle95 = _pct(result["idle"], 0.5), _pct(result["idle"], 0.95)
        busy50, busy95 = _pct(result["busy"], 0.5), _pct(result["busy"], 0.95)
        print(f"archive of a {result['mb']} MiB output category: {result['archive_s']:.1f} s "
              f"({result['mb'] / result['archive_s']:.0f} MiB/s)")
        print(f"API latency idle  p50 {idle50:.1f} ms  p95 {idle95:.1f} ms  ({len(result['idle'])} requests)")
        print(f"API latency busy  p50 {busy50:.1f} ms  p95 {busy95:.1f} ms  ({len(result['busy'])} requests); "
              f"p50 ratio {busy50 / idle50:.2f}x, p95 ratio {busy95 / idle95:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
