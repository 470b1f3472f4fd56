"""Benchmark the plugin scheduler: launch latency over HTTP, drain throughput vs bare subprocess, idle CPU, and
the local executor beside the DRMAA one (Grid Engine) on latency and the drain of 100 trivial jobs.

Usage: python scripts/bench_scheduler.py [--launches 100] [--jobs 500] [--slots 4] [--idle 10]
                                         [--executors local,drmaa] [--compare-launches 20] [--compare-jobs 100]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from runplugins import register_plugin  # noqa: E402
from torrentlite.app import build_app  # noqa: E402
from torrentlite.settings import resolve  # noqa: E402
from torrentlite.setup_data import initialize  # noqa: E402

LAUNCH_SH = '#!/bin/bash\nVERSION="1.0"\ndate +%s.%N > "$RESULTS_DIR/running"\n'
SLEEPER_SH = '#!/bin/bash\nVERSION="1.0"\nsleep 600\n'


def setup(root: Path, slots: int, executor: str = "local"):
    settings = resolve({"data_dir": str(root / "data"), "plugin_slots": slots, "plugin_memory_floor_mb": 0,
                        "executor": executor}, environ={})
    app = build_app(settings)
    initialize(settings, app.store, demo_data=True)
    for name, text in (("Trivial", LAUNCH_SH), ("Sleeper", SLEEPER_SH)):
        folder = root / "plugins" / name
        folder.mkdir(parents=True)
        (folder / "launch.sh").write_text(text)
        register_plugin(app.store, folder)
    return app


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def bench_latency(app, n: int):
    """POST results/1/plugin/ over HTTP to a real waitress server -> the plugin's process is running."""
    import http.client

    import waitress

    from conftest import admin_headers, free_port  # noqa: E402

    port = free_port()
    server = waitress.create_server(app.wsgi, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    headers = {**admin_headers(app), "Content-Type": "application/json"}
    body = json.dumps({"plugin": "Trivial"})
    out = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(n):
            t0 = time.time()
            conn.request("POST", "/rundb/api/v1/results/1/plugin/", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            assert response.status == 202, payload
            folder = Path(json.loads(payload)["plugins"][0]["results_dir"])
            marker = folder / "running"
            while not marker.exists() or not marker.read_text().strip():
                time.sleep(0.001)
            # The launch script writes the time it started running; compare with the time the POST was sent.
            out.append((float(marker.read_text()) - t0) * 1000)
            while _active(app):
                time.sleep(0.005)
        conn.close()
    finally:
        server.close()
        thread.join(5)
    return out


def _active(app) -> int:
    return app.store.db.execute_sql(
        "SELECT COUNT(*) FROM \"PluginResultJob\" WHERE state IN ('Queued','Started','Pending')").fetchone()[0]


# What the scheduler writes into a job's folder before the job runs (the job's log is not read by it).
_INPUTS = {"startplugin.json", "barcodes.json", "drmaa_stdout.txt"}


def bench_drain(app, jobs: int, slots: int, bare: bool = True):
    sched = app.scheduler
    sched.stop()
    t_launch = time.monotonic()
    launched = [sched.launch(1, ["Trivial"])[0] for _ in range(jobs)]
    t_launched = time.monotonic() - t_launch
    sched.start()
    t0 = time.monotonic()
    while _active(app):
        time.sleep(0.01)
    drained = time.monotonic() - t0
    if not bare:
        return t_launched, drained, None
    scripts = [(Path(x["results_dir"]) / "ion_plugin_Trivial_launch.sh", Path(x["results_dir"])) for x in launched]
    # The same work on both sides: each folder goes back to what the scripts found when the scheduler ran
    # them, since making a file costs far more than rewriting one. What the scripts made is moved aside,
    # not deleted: ext4 passes over recently freed inodes when it looks for a free one, which would make
    # the bare run's files dearer. Each script also runs in its own session, as every job does.
    trash = Path(tempfile.mkdtemp(prefix="made-by-the-scripts-", dir=Path(launched[0]["results_dir"]).parent))
    for index, (script, folder) in enumerate(scripts):
        for entry in folder.iterdir():
            if entry.is_dir() or (entry.name not in _INPUTS and entry != script):
                entry.rename(trash / f"{index}-{entry.name}")

    def run(item):
        script, folder = item
        subprocess.run(["/bin/bash", str(script), "-j", str(folder / "startplugin.json")], cwd=folder,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                       start_new_session=True)
    t0 = time.monotonic()
    with ThreadPoolExecutor(slots) as pool:
        list(pool.map(run, scripts))
    bare = time.monotonic() - t0
    shutil.rmtree(trash, ignore_errors=True)
    return t_launched, drained, bare


def file_cost(folder: Path, files: int = 200) -> float:
    """CPU microseconds to create one empty file in ``folder`` (kept until the run ends).

    Each job makes several files. On ext4 without a journal, a new inode is searched for past every
    inode freed in the last minutes, so right after a large deletion (a test suite's clean-up, the
    last run of this script) making a file can cost fifty times what it costs on a settled disk.
    """
    folder.mkdir()
    t0 = time.thread_time()
    for index in range(files):
        os.close(os.open(folder / f"f{index}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    return (time.thread_time() - t0) / files * 1e6


def _scheduler_cpu(app, seconds: float) -> float:
    """CPU time of the scheduler thread alone over ``seconds`` (psutil's per-thread times)."""
    me = psutil.Process()
    native = app.scheduler._thread.native_id

    def used():
        return sum(t.user_time + t.system_time for t in me.threads() if t.id == native)
    before = used()
    time.sleep(seconds)
    return used() - before


def bench_idle(app, seconds: float):
    """The scheduler thread's CPU time while nothing is queued or running."""
    app.scheduler.start()
    time.sleep(0.5)
    return _scheduler_cpu(app, seconds)


def bench_watch(app, seconds: float, slots: int):
    """The scheduler thread's CPU time while a job runs in every slot and nothing waits."""
    sched = app.scheduler
    runs = [sched.launch(1, ["Sleeper"])[0] for _ in range(slots)]
    while app.store.db.execute_sql("SELECT COUNT(*) FROM \"PluginResultJob\" WHERE state = 'Started'").fetchone()[0] \
            < slots:
        time.sleep(0.05)
    time.sleep(0.5)
    used = _scheduler_cpu(app, seconds)
    for run in runs:
        sched.cancel(run["pluginresult"], grace=1.0)
    return used


def compare(root: Path, executors, slots: int, launches: int, jobs: int) -> list:
    """(executor, latencies in ms, drain seconds) for each executor, on fresh data directories."""
    out = []
    for name in executors:
        app = setup(root / name, slots, name)
        app.start()
        try:
            lat = bench_latency(app, launches)
            _, drained, _ = bench_drain(app, jobs, slots, bare=False)
        finally:
            app.close()
        out.append((name, lat, drained))
    return out


def _reexec_for_drmaa(executors) -> None:
    """libdrmaa needs a glibc tunable set before the process starts: run this script again with it."""
    from torrentlite.runner.gridengine import has_tls_tunable, with_tls_tunable

    if "drmaa" in executors and not has_tls_tunable(os.environ):
        os.execve(sys.executable, [sys.executable, *sys.argv], with_tls_tunable(os.environ))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--launches", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=500)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument("--executors", default="local,drmaa", help="executors compared (comma-separated)")
    ap.add_argument("--compare-launches", type=int, default=20)
    ap.add_argument("--compare-jobs", type=int, default=100)
    args = ap.parse_args()
    executors = [e for e in args.executors.split(",") if e]
    _reexec_for_drmaa(executors)
    root = Path(tempfile.mkdtemp(prefix="tl-bench-"))
    try:
        app = setup(root, args.slots)
        app.start()
        lat = bench_latency(app, args.launches)
        create_us = file_cost(root / "file-cost")
        launch_s, drained, bare = bench_drain(app, args.jobs, args.slots)
        idle_cpu = bench_idle(app, args.idle)
        watch_cpu = bench_watch(app, args.idle, args.slots)
        app.close()
        # Thread CPU times count in clock ticks: less than one tick reads as 0, not as "no CPU".
        tick = 1.0 / os.sysconf("SC_CLK_TCK")

        def cpu_text(used):
            return (f"< {tick * 1000:.0f} ms (below resolution)" if used < tick
                    else f"{used * 1000:.0f} ms (resolution {tick * 1000:.0f} ms)")
        rows = [
            ("launch latency p50 (POST -> plugin running)", f"{statistics.median(lat):.1f} ms", "< 100 ms"),
            ("launch latency p99", f"{pct(lat, 99):.1f} ms", ""),
            (f"queue {args.jobs} jobs (launch calls)", f"{launch_s:.2f} s", ""),
            ("making a file in the data folder (CPU)", f"{create_us:.0f} us", "settled disk: ~20 us"),
            (f"drain {args.jobs} jobs, {args.slots} slots (scheduler)", f"{drained:.2f} s", ""),
            (f"same {args.jobs} scripts, bare subprocess", f"{bare:.2f} s", ""),
            ("scheduler throughput vs bare", f"{100 * bare / drained:.0f} %", ">= 80 %"),
            (f"scheduler thread CPU while idle, {args.idle:.0f} s", cpu_text(idle_cpu), "~ 0"),
            (f"same, while {args.slots} jobs run, {args.idle:.0f} s", cpu_text(watch_cpu), ""),
        ]
        width = max(len(r[0]) for r in rows)
        print(f"{'measure'.ljust(width)}  {'value':>22}  target")
        for name, value, target in rows:
            print(f"{name.ljust(width)}  {value:>22}  {target}")
        side = compare(root / "compare", executors, args.slots, args.compare_launches, args.compare_jobs)
        print()
        head = [f"executors, {args.slots} slots"] + [name for name, _, _ in side]
        table = [
            [f"submit -> running p50 ({args.compare_launches} launches)"] +
            [f"{statistics.median(lat):.0f} ms" for _, lat, _ in side],
            ["submit -> running p99"] + [f"{pct(lat, 99):.0f} ms" for _, lat, _ in side],
            [f"drain {args.compare_jobs} trivial jobs"] + [f"{drained:.2f} s" for _, _, drained in side],
        ]
        width = max(len(r[0]) for r in table + [head])
        for row in [head] + table:
            print(row[0].ljust(width) + "".join(f"  {cell:>12}" for cell in row[1:]))
        print(json.dumps({"p50_ms": statistics.median(lat), "p99_ms": pct(lat, 99), "drain_s": drained,
                          "bare_s": bare, "file_cost_us": create_us, "idle_cpu_s": idle_cpu, "watch_cpu_s": watch_cpu, "cpu_tick_s": tick,
                          "executors": {name: {"p50_ms": statistics.median(lat), "p99_ms": pct(lat, 99),
                                               f"drain_{args.compare_jobs}_s": drained}
                                        for name, lat, drained in side}}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
