"""GET load for the benchmarks: wrk (a C load generator) when installed, else Python client processes.

The Python client of `bench_writes.measure` costs about as much CPU per request as a static
server does, so it understates fast endpoints; wrk does not. Each path may be a template with
`{n}`, filled with a random integer below `spread` on every request, so a page can be asked
for with a different offset or id each time, and `{u}`, a number unique to each request (for an
ignored parameter such as `_`, so a page asked for twice is still built, not reused).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import bench_writes

WRK = shutil.which("wrk")
_LUA = """
math.randomseed(%(seed)d)
local template = "%(template)s"
request = function()
  local path = template:gsub("{n}", tostring(%(base)d + math.random(0, %(spread)d)))
  path = path:gsub("{u}", tostring(math.random(0, 2147483647)))
  return wrk.format(nil, path)
end
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def name() -> str:
    return "wrk" if WRK else "Python client threads"


def _latency(out: str, percent: str) -> float:
    match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0


def _errors(out: str) -> int:
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)


def measure(port: int, path: str, headers: dict, connections: int, seconds: float, spread: int = 0,
            base: int = 0) -> dict:
    """req/s, p50/p99 ms and errors of GET `path` (a template when spread > 0: `{n}` becomes a random
    integer from base to base + spread)."""
    if WRK is None:
        import random

        rng = random.Random(7)
        return bench_writes.measure(port, headers, connections, seconds, lambda: (
            "GET", path.replace("{n}", str(base + rng.randint(0, spread))).replace(
                "{u}", str(rng.randint(0, 2 ** 31 - 1))) if spread else path, None, 200))
    args = [WRK, "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds:g}s", "--latency"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    script = None
    if spread:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
            fh.write(_LUA % {"seed": 7, "template": path.replace('"', '\\"'), "spread": spread, "base": base})
            script = fh.name
        args += ["-s", script]
    try:
        out = subprocess.run(args + [f"http://127.0.0.1:{port}{path if not spread else '/'}"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        if script:
            os.unlink(script)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": _latency(out, "50"), "p99": _latency(out, "99"),
            "errors": _errors(out)}
