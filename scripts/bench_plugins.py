#!/usr/bin/env python3
"""Plugin framework timings: static inspection, full zip install, extend.py calls per second.

Generates N plugins (zips) in a temporary data directory, installs and inspects each, then calls an
extend.py function repeatedly (reused workers, a new process per call, and through the REST API).
Usage: python scripts/bench_plugins.py [--plugins 100] [--calls 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from torrentlite.app import build_app  # noqa: E402
from torrentlite.runner.extend import OK, ExtendRunner  # noqa: E402
from torrentlite.runner.inspect import read_plugin_info  # noqa: E402
from torrentlite.runner.manager import PluginManager  # noqa: E402
from torrentlite.settings import resolve  # noqa: E402
from torrentlite.setup_data import initialize  # noqa: E402

PLUGIN_PY = '''from ion.plugin import *


class {name}(IonPlugin):
    """Benchmark plugin number {n}."""
    version = "1.{n}.0"
    runtypes = [RunType.FULLCHIP, RunType.THUMB]
    runlevels = [RunLevel.DEFAULT]
    features = []
    major_block = {major}

    def getUserInput(self):
        return [{{"name": "option", "type": "text", "value": "{n}"}}]

    def launch(self, data=None):
        return True


if __name__ == "__main__":
    PluginCLI()
'''

EXTEND_PY = '''
def status(bucket):
    return {"name": bucket["name"], "q": bucket["request_get"].get("q")}
'''


def make_zip(folder: Path, n: int) -> Path:
    name = "Bench%03d" % n
    path = folder / (name + ".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("%s/%s.py" % (name, name), PLUGIN_PY.format(name=name, n=n, major=n % 2 == 0))
        archive.writestr("%s/extend.py" % name, EXTEND_PY)
        archive.writestr("%s/config.html" % name, "<html><head></head><body>%s</body></html>" % name)
        archive.writestr("%s/pluginconfig.json" % name, '{"option": "%d"}' % n)
        archive.writestr("%s/pluginMedia/style.css" % name, "body { margin: %dpx; }" % n)
    return path


def summary(label: str, values_ms: list[float], target: str) -> tuple:
    values = sorted(values_ms)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return (label, "%.1f" % statistics.mean(values), "%.1f" % statistics.median(values), "%.1f" % p95,
            "%.1f" % values[-1], target)


def calls_per_second(fn, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=100)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-plugins-") as tmp:
        tmp = Path(tmp)
        settings = resolve({"data_dir": str(tmp / "data")}, environ={})
        app = build_app(settings)
        initialize(settings, app.store)
        manager = PluginManager(app.store, settings.plugins_path)
        zips = [make_zip(tmp, n) for n in range(args.plugins)]

        install_ms, inspect_ms = [], []
        for path in zips:
            started = time.perf_counter()
            row = manager.install_zip(path)
            install_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            info = read_plugin_info(Path(row["path"]), row["name"])
            inspect_ms.append((time.perf_counter() - started) * 1000)
            assert not info.dynamic and info.version == row["version"], info
        started = time.perf_counter()
        report = manager.rescan()
        rescan_s = time.perf_counter() - started
        assert len(report["updated"]) == args.plugins, report

        folder = Path(manager.active_row("Bench000")["path"])
        bucket = {"request_get": {"q": ["1"]}, "request_method": "GET", "user": "bench", "name": "Bench000",
                  "version": "1.0.0", "config": {}}
        pooled = ExtendRunner(idle_per_plugin=2)
        one_shot = ExtendRunner(idle_per_plugin=0)

        def pooled_call():
            assert pooled.call(folder, "Bench000", "status", bucket).status == OK

        def one_shot_call():
            assert one_shot.call(folder, "Bench000", "status", bucket).status == OK

        from io import BytesIO

        def api_call():
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/rundb/api/v1/plugin/Bench000/extend/status/",
                       "QUERY_STRING": "q=1", "SERVER_NAME": "bench", "SERVER_PORT": "80",
                       "REMOTE_ADDR": "10.0.0.1", "wsgi.input": BytesIO(b""), "wsgi.url_scheme": "http",
                       "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1"}
            status = {}
            body = b"".join(app.wsgi(environ, lambda s, h, e=None: status.update(s=s)))
            assert status["s"].startswith("200"), body

        pooled_call()
        api_call()
        rates = [("extend.py, reused workers (runner)", calls_per_second(pooled_call, args.calls)),
                 ("extend.py, reused workers (REST API, in-process)", calls_per_second(api_call, args.calls)),
                 ("extend.py, new process per call (runner)", calls_per_second(one_shot_call,
                                                                                max(10, args.calls // 10)))]
        pooled.close()
        one_shot.close()
        app.api.plugin_extend.close()
        app.close()

    rows = [summary("static inspection (read_plugin_info)", inspect_ms, "< 50 ms"),
            summary("full zip install (unpack+inspect+move+DB)", install_ms, "-")]
    header = ("per plugin, ms (%d plugins)" % args.plugins, "mean", "median", "p95", "max", "target")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    print("\nrescan of %d installed plugins: %.2f s (%.1f ms per plugin)"
          % (args.plugins, rescan_s, rescan_s * 1000 / args.plugins))
    print()
    width = max(len(label) for label, _ in rates)
    print("%s | calls/s | target" % "extend.py calls".ljust(width))
    print("%s-+---------+-------" % ("-" * width))
    for label, rate in rates:
        print("%s | %7.1f | %s" % (label.ljust(width), rate, ">= 50/s" if "reused" in label else "-"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
