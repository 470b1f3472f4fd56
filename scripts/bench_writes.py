#!/usr/bin/env python3
"""Benchmark API writes: single-object POST and PATCH with 2 and 8 connections, and 1,000-object list PATCHes.

Builds a demo data directory, starts `python -m torrentlite serve` (waitress) on a 127.0.0.1
port, drives the writes over keep-alive connections for a fixed time, prints req/s and latency,
and fails if any request answered 5xx or the server logged "database is locked".
`scripts/bench_api.py` reuses `write_rows` to add these figures to its read benchmark.

Usage: python scripts/bench_writes.py [--data-dir DIR] [--seconds S] [--threads T] [--connections 2,8]
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

API = "/rundb/api/v1/"
_names = itertools.count()
_names_lock = threading.Lock()


def unique(prefix: str) -> str:
    with _names_lock:
        return f"{prefix}{os.getpid()}_{next(_names)}"


def call(conn, method: str, path: str, headers: dict, body=None) -> tuple[int, bytes]:
    payload = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=payload, headers={**headers, "Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def measure(port: int, headers: dict, connections: int, seconds: float, make_request) -> dict:
    """Run `make_request()` -> (method, path, body, expected status) on each connection for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop = time.perf_counter() + seconds
    barrier = threading.Barrier(connections)

    def worker(slot: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        while time.perf_counter() < stop:
            method, path, body, expected = make_request()
            t0 = time.perf_counter()
            status, _ = call(conn, method, path, headers, body)
            latencies[slot].append(time.perf_counter() - t0)
            if status != expected:
                errors[slot] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    lat = sorted(x for group in latencies for x in group)
    return {"rps": len(lat) / wall, "p50": statistics.median(lat) * 1000 if lat else 0.0,
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0,
            "errors": sum(errors), "count": len(lat)}


def write_rows(port: int, headers: dict, connections, seconds: float, batch: int = 1000) -> list[tuple]:
    """(name, connections, figures) rows for single POST/PATCH and for `batch`-object list PATCHes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    status, body = call(conn, "GET", API + "results/?limit=1", headers)
    if status != 200:
        raise SystemExit(f"bench: GET results answered {status}: {body[:200]!r}")
    result = json.loads(body)["objects"][0]["resource_uri"]
    user = API + "user/1/"
    rows = []
    for c in connections:
        rows.append(("POST project/", c, measure(port, headers, c, seconds, lambda: (
            "POST", API + "project/", {"name": unique("bench_post_"), "creator": user}, 201))))
        rows.append(("PATCH results/{pk}/", c, measure(port, headers, c, seconds, lambda: (
            "PATCH", result, {"status": unique("bench_")[:40]}, 202))))
    created = [{"name": unique("bench_list_"), "creator": user} for _ in range(batch)]
    t0 = time.perf_counter()
    status, body = call(conn, "PATCH", API + "project/", headers, {"objects": created})
    create_seconds = time.perf_counter() - t0
    ok_create = status == 202
    names = ",".join(o["name"] for o in created)
    status, body = call(conn, "GET", API + f"project/?name__in={names}&limit=0", headers)
    uris = [o["resource_uri"] for o in json.loads(body)["objects"]] if status == 200 else []
    updates = [{"resource_uri": uri, "public": False} for uri in uris]
    t0 = time.perf_counter()
    status, _ = call(conn, "PATCH", API + "project/", headers, {"objects": updates})
    update_seconds = time.perf_counter() - t0
    conn.close()
    for name, secs, ok in ((f"list PATCH: create {batch}", create_seconds, ok_create),
                           (f"list PATCH: update {len(updates)}", update_seconds, status == 202)):
        rows.append((name, 1, {"rps": 1 / secs, "p50": secs * 1000, "p99": secs * 1000,
                               "errors": 0 if ok else 1, "count": 1}))
    return rows


def print_rows(rows) -> None:
    print(f"{'write':32} {'conns':>5} {'req/s':>8} {'p50 ms':>9} {'p99 ms':>9} {'errors':>6}")
    for name, c, m in rows:
        print(f"{name:32} {c:5d} {m['rps']:8.1f} {m['p50']:9.2f} {m['p99']:9.2f} {m['errors']:6d}")


def main(argv=None) -> int:
    from torrentlite.app import build_app
    from torrentlite.settings import resolve
    from torrentlite.setup_data import initialize
    from torrentlite.store.users import Users

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=5.0, help="per write kind and concurrency")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--connections", default="2,8")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="tl-bench-writes-")) / "data"
    if data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"bench: {data_dir} is not empty; give a fresh --data-dir")
    settings = resolve({"data_dir": str(data_dir)}, environ={})
    app = build_app(settings)
    initialize(settings, app.store, demo_data=True)
    key = Users(app.store).api_key("ionadmin")
    app.close()

    from socket import socket

    with socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log_path = data_dir.parent / "bench-writes-server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--data-dir", str(data_dir),
                                   "--port", str(port), "--threads", str(args.threads), "--no-trust-loopback",
                                   "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", API)
                    conn.getresponse().read()
                    conn.close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"bench: the server did not start (see {log_path})")
                    time.sleep(0.1)
            headers = {"Authorization": f"ApiKey ionadmin:{key}"}
            rows = write_rows(port, headers, [int(c) for c in args.connections.split(",")], args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print_rows(rows)
    text = log_path.read_text()
    locked = text.count("database is locked")
    failures = sum(m["errors"] for _, _, m in rows)
    print(f"\n'database is locked' in the server log: {locked}; unexpected statuses: {failures}")
    return 1 if locked or failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
