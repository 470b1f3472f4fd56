#!/usr/bin/env python3
"""Benchmark the rundb API on a large dataset against a static-body floor on the same stack.

1. Builds a fresh data directory with N results (default 100,000), each with an experiment, an
   analysis-settings row and the four metrics rows, plus a few projects and plugin results, using
   bulk inserts in one transaction.
2. Starts `python -m torrentlite serve` (waitress) on 127.0.0.1, and a tiny Bottle app on waitress
   that answers a pre-built body of the same size (the floor: what the stack costs with no work).
3. Drives each endpoint with 2 and 8 keep-alive connections for a fixed time (with wrk when it is
   installed, which costs far less per request than any Python client) and prints req/s, p50/p99
   latency and the ratio to the floor, the load time and the server's RSS. Each read is measured
   twice: asking for the same page again (reused until the database changes) and asking for a
   random page, report or name each time (built every time). The runs and report pages are
   measured the same way, signed in with a session cookie, and one random-page list with HTTP Basic.
4. Then measures writes (scripts/bench_writes.py): single POST and PATCH with the same
   connection counts, and 1,000-object list PATCHes.

Usage: python scripts/bench_api.py [--data-dir DIR] [--results N] [--seconds S] [--threads T]
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import bench_writes  # noqa: E402
import loadgen  # noqa: E402
from torrentlite.app import build_app  # noqa: E402
from torrentlite.settings import resolve  # noqa: E402
from torrentlite.setup_data import initialize  # noqa: E402
from torrentlite.store.fields import FIELD_CLASSES  # noqa: E402
from torrentlite.store.sessions import COOKIE, Sessions  # noqa: E402
from torrentlite.store.users import Users  # noqa: E402

FLOOR_APP = r"""
import sys, bottle, waitress
body = b"x" * int(sys.argv[2])
app = bottle.Bottle()
@app.route("/floor/")
def floor():
    return bottle.HTTPResponse(body, 200, {"Content-Type": "application/json", "Vary": "Accept",
                                            "Cache-Control": "no-cache"})
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[3]), _quiet=True)
"""


# -- dataset ----------------------------------------------------------------------------------------
def _sample(kind):
    return {"string": "", "integer": 0, "bigint": 0, "float": 0.0, "boolean": False,
            "datetime": datetime(2020, 1, 1, tzinfo=timezone.utc), "json": {}}[kind]


# A user for the HTTP Basic rows: checking a password against its stored hash is slow on purpose.
BASIC_USER, BASIC_PASSWORD = "bench-basic", "bench-basic-password"


def template(store, resource: str) -> dict:
    """Column values of one row of `resource`'s table, taken from its published example."""
    registry = store.registry
    res = registry[resource]
    table = registry.tables[res.table]
    example = res.spec.example_object or {}
    row = {}
    for name, col in table.columns.items():
        if name == table.pk:
            continue
        value = example.get(name)
        if name not in res.fields or res.fields[name].source != "column":
            value = None
        if value is None and not col.nullable:
            value = col.default if col.default is not None else _sample(col.kind)
        if col.kind == "bigint" and isinstance(value, str):
            value = int(value)
        if col.kind == "datetime" and isinstance(value, str):
            value = datetime.fromisoformat(value)
        row[name] = value
    return row


def to_db(store, table: str, row: dict) -> dict:
    """Python values as stored (datetimes as text, JSON as text, booleans as 0/1)."""
    cols = store.registry.tables[table].columns
    out = {}
    for name, value in row.items():
        col = cols.get(name)
        out[name] = FIELD_CLASSES[col.kind]().db_value(value) if col is not None and value is not None else value
    return out


def bulk(conn, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    names = list(rows[0])
    sql = (f'INSERT INTO "{table}" ({", ".join(chr(34) + n + chr(34) for n in names)}) '
           f'VALUES ({", ".join("?" * len(names))})')
    conn.executemany(sql, [tuple(r[n] for n in names) for r in rows])


def build_dataset(data_dir: Path, n: int) -> tuple[float, str, str]:
    """Fresh data dir with reference data plus n results; returns (seconds, ionadmin key, a session cookie)."""
    settings = resolve({"data_dir": str(data_dir), "db_driver": "sqlite3"}, environ={})
    app = build_app(settings)
    initialize(settings, app.store)
    key = Users(app.store).api_key("ionadmin")
    session, _ = Sessions(app.store).create(Users(app.store).by_name("ionadmin").id)
    Users(app.store).create(BASIC_USER, BASIC_PASSWORD)
    store = app.store
    started = time.perf_counter()
    rng = random.Random(42)
    statuses = ["Completed"] * 8 + ["Error", "Started"]
    base = datetime(2018, 1, 1, tzinfo=timezone.utc)
    t_exp = to_db(store, "experiment", template(store, "experiment"))
    t_eas = to_db(store, "experimentanalysissettings", template(store, "experimentanalysissettings"))
    t_res = to_db(store, "results", template(store, "results"))
    t_metrics = {m: to_db(store, m, template(store, m))
                 for m in ("libmetrics", "tfmetrics", "analysismetrics", "qualitymetrics")}
    t_plugin = to_db(store, "plugin", template(store, "plugin"))
    t_pr = to_db(store, "pluginresult", template(store, "pluginresult"))
    t_job = to_db(store, "PluginResultJob", template(store, "PluginResultJob"))
    db = store.db
    storage = db.execute_sql('SELECT id FROM "reportstorage" ORDER BY id LIMIT 1').fetchone()[0]
    with store.write():
        conn = db.connection()
        first = (db.execute_sql('SELECT coalesce(max(id), 0) FROM "experiment"').fetchone()[0] or 0) + 1
        exps, eas, results, metrics = [], [], [], {m: [] for m in t_metrics}
        for i in range(n):
            pk = first + i
            stamp = base + timedelta(minutes=7 * i + rng.randint(0, 5))
            name = f"{'Auto_' if i % 2 else ''}user_run{i}_{rng.choice(['WGS', 'AmpliSeq', 'RNA', 'Exome'])}"
            exps.append({**t_exp, "id": pk, "expName": f"R_{i}_{name}", "displayName": name,
                         "unique": f"/results/exp{i}", "expDir": f"/results/exp{i}",
                         "date": stamp.strftime("%Y-%m-%d %H:%M:%S.%f"), "plan_id": None, "repResult_id": None})
            eas.append({**t_eas, "id": pk, "experiment_id": pk})
            results.append({**t_res, "id": pk, "experiment_id": pk, "eas_id": pk, "reportstorage_id": storage,
                            "resultsName": name, "status": rng.choice(statuses),
                            "timeStamp": stamp.strftime("%Y-%m-%d %H:%M:%S.%f"),
                            "reportLink": f"/output/Home/{name}_{i:06d}/"})
            for m, t in t_metrics.items():
                metrics[m].append({**t, "id": pk, "report_id": pk})
        for table, rows in (("experiment", exps), ("experimentanalysissettings", eas), ("results", results),
                            *metrics.items()):
            for k in rows[0]:
                if k.endswith("_id") and k[:-3] in store.registry.tables[table].links:
                    continue
                if k not in store.registry.tables[table].columns:
                    raise SystemExit(f"bench: {table} has no column {k}")
            bulk(conn, table, rows)
        projects = []
        for p in range(5):
            cur = db.execute_sql('INSERT INTO "project" (name, public, creator_id, modified) VALUES (?, 1, 1, ?)',
                                 (f"bench_project_{p}", "2020-01-01 00:00:00.000000"))
            projects.append(cur.lastrowid)
        bulk(conn, "results_projects",
             [{"src_id": first + i, "dst_id": projects[i % len(projects)]} for i in range(0, n, 3)])
        plugins = []
        for name in ("variantCaller", "coverageAnalysis", "FilterDuplicates"):
            row = {**t_plugin, "name": name, "active": 1, "path": ""}
            row.pop("id", None)
            cols = list(row)
            cur = db.execute_sql(f'INSERT INTO "plugin" ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                                 f'VALUES ({", ".join("?" * len(cols))})', [row[c] for c in cols])
            plugins.append(cur.lastrowid)
        prs, jobs = [], []
        for j, i in enumerate(range(0, n, 10)):
            pr_id = j + 1
            prs.append({**t_pr, "id": pr_id, "result_id": first + i, "plugin_id": plugins[j % 3], "owner_id": 1,
                        "apikey": None})
            jobs.append({**t_job, "id": pr_id, "plugin_result_id": pr_id})
        for rows in (prs, jobs):
            for r in rows:
                r.pop("validation_errors", None)
        bulk(conn, "pluginresult", prs)
        bulk(conn, "PluginResultJob", jobs)
    db.execute_sql("ANALYZE")
    elapsed = time.perf_counter() - started
    app.close()
    return elapsed, key, session


# -- load generation --------------------------------------------------------------------------------
def measure(port: int, path: str, headers: dict, connections: int, seconds: float) -> dict:
    """GET `path` on `connections` keep-alive connections for `seconds`: req/s, p50/p99 ms, errors."""
    return bench_writes.measure(port, headers, connections, seconds, lambda: ("GET", path, None, 200))


def fetch(port, path, headers) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise SystemExit(f"bench: GET {path} answered {response.status}: {body[:300]!r}")
    return body


def wait_port(port: int, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: nothing answered on port {port}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=6.0, help="per endpoint and concurrency")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of both servers")
    parser.add_argument("--connections", default="2,8")
    args = parser.parse_args(argv)
    import psutil

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="tl-bench-")) / "data"
    if data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"bench: {data_dir} is not empty; give a fresh --data-dir")
    print(f"building {args.results:,} results in {data_dir} …", flush=True)
    load_seconds, key, session = build_dataset(data_dir, args.results)
    db_size = (data_dir / "torrentlite.sqlite3").stat().st_size / 1e6
    print(f"dataset loaded in {load_seconds:.1f} s ({db_size:.0f} MB)", flush=True)

    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "torrentlite", "serve", "--data-dir", str(data_dir),
                               "--port", str(port), "--threads", str(args.threads), "--no-trust-loopback",
                               "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    floor_proc = None
    try:
        wait_port(port, server)
        headers = {"Authorization": f"ApiKey ionadmin:{key}"}
        last_id = json.loads(fetch(port, "/rundb/api/v1/results/?limit=1", headers))["objects"][0]["id"]
        n = args.results
        # (name, path, spread): a spread fills {n} with a random number per request, so every
        # request asks for another page or report (built, never a reused page).
        endpoints = [
            ("results list limit=20 (same page)", "/rundb/api/v1/results/?limit=20", 0),
            ("results list, random page", "/rundb/api/v1/results/?limit=20&offset={n}", n - 20),
            ("filtered+ordered list (same)", "/rundb/api/v1/results/?status=Completed&order_by=-timeStamp"
                                             "&resultsName__icontains=run1&limit=20", 0),
            ("name search, random run", "/rundb/api/v1/results/?resultsName__icontains=run{n}_&limit=20", n - 1),
            ("results detail (same)", f"/rundb/api/v1/results/{last_id - n // 2}/", 0),
            ("results detail, random", "/rundb/api/v1/results/{n}/", n - 1),
        ]
        pages = [
            ("runs page (same)", "/runs", 0),
            ("runs page, random page", "/runs?page={n}", max(0, n // 25 - 1)),
            ("runs search, random run", "/runs?q=run{n}_", n - 1),
            ("report page, random", "/report/{n}", n - 1),
        ]
        page_headers = {"Cookie": f"{COOKIE}={session}"}
        basic = ("results list, random page, HTTP Basic", "/rundb/api/v1/results/?limit=20&offset={n}", n - 20)
        basic_headers = {"Authorization": "Basic " + base64.b64encode(
            f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()}
        # bench report ids are the last n
        base = {"results detail, random": last_id - n + 1, "report page, random": last_id - n + 1,
                "runs page, random page": 1}
        sizes = {name: len(fetch(port, path.replace("{n}", str(base.get(name, 0) + 7)), headers))
                 for name, path, _ in endpoints}
        sizes.update({name: len(fetch(port, path.replace("{n}", str(base.get(name, 0) + 7)), page_headers))
                      for name, path, _ in pages})
        floor_size = sizes["results list limit=20 (same page)"]
        floor_port = free_port()
        floor_proc = subprocess.Popen([sys.executable, "-c", FLOOR_APP, str(floor_port), str(floor_size),
                                       str(args.threads)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(floor_port, floor_proc)
        conns = [int(c) for c in args.connections.split(",")]
        rows = []
        for c in conns:
            floor = loadgen.measure(floor_port, "/floor/", headers, c, args.seconds)
            rows.append((f"floor (static {floor_size} B)", c, floor, 1.0))
            for name, path, spread in endpoints:
                m = loadgen.measure(port, path, headers, c, args.seconds, spread=spread, base=base.get(name, 0))
                rows.append((name, c, m, m["rps"] / floor["rps"]))
            for name, path, spread in pages:
                m = loadgen.measure(port, path, page_headers, c, args.seconds, spread=spread, base=base.get(name, 0))
                rows.append((name, c, m, m["rps"] / floor["rps"]))
            m = loadgen.measure(port, basic[1], basic_headers, c, args.seconds, spread=basic[2])
            rows.append((basic[0], c, m, m["rps"] / floor["rps"]))
        write_figures = bench_writes.write_rows(port, headers, conns, args.seconds)
        rss = psutil.Process(server.pid).memory_info().rss / 1e6
    finally:
        server.terminate()
        if floor_proc is not None:
            floor_proc.terminate()
        server.wait(timeout=10)
        if floor_proc is not None:
            floor_proc.wait(timeout=10)
    print()
    print(f"GET load by {loadgen.name()}; writes by Python client threads")
    print(f"{'endpoint':44} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs floor':>8} {'errors':>6}")
    for name, c, m, ratio in rows:
        print(f"{name:44} {c:5d} {m['rps']:8.0f} {m['p50']:8.2f} {m['p99']:8.2f} {ratio:8.2f} {m['errors']:6d}")
    print()
    bench_writes.print_rows(write_figures)
    print()
    print(f"dataset: {args.results:,} results loaded in {load_seconds:.1f} s; database {db_size:.0f} MB")
    print(f"server RSS after the run: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
