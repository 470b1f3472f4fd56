"""Runs functions of one plugin's extend.py for the server, in a process of its own.

Started as `python extend_worker.py <plugin_dir> <plugin_name>` with the `ion` package importable. Reads
one JSON request per line on stdin: {"function": name, "bucket": {...}}, and answers each with one JSON
line on its stdout: {"ok": true, "result": value} | {"missing": "<why>"} | {"error": "<message>"}.
extend.py is loaded afresh for every request, as Torrent Suite does. Whatever the plugin prints goes to
stderr, so it cannot corrupt the answers. This file imports nothing from torrentlite.
"""
import datetime
import decimal
import importlib.util
import json
import os
import sys
import traceback


class QueryDict(dict):
    """The request's query parameters: item access gives the last value, getlist() all of them."""

    def __init__(self, lists):
        super().__init__((key, values[-1] if values else "") for key, values in lists.items())
        self._lists = {key: list(values) for key, values in lists.items()}

    def getlist(self, key, default=None):
        return list(self._lists.get(key, default if default is not None else []))

    def lists(self):
        return list(self._lists.items())

    def dict(self):
        return dict(self)


def _json_default(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError("%s is not JSON serializable" % type(value).__name__)


def _load(plugin_dir, name):
    path = os.path.join(plugin_dir, "extend.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def handle(plugin_dir, name, request):
    function = request.get("function", "")
    bucket = dict(request.get("bucket") or {})
    bucket["request_get"] = QueryDict(bucket.get("request_get") or {})
    if not os.path.isfile(os.path.join(plugin_dir, "extend.py")):
        return {"missing": "plugin %s has no extend.py" % name}
    try:
        module = _load(plugin_dir, name)
    except BaseException as exc:  # a plugin may raise anything, including SystemExit
        return {"error": "extend.py of %s failed to load: %s" % (name, _describe(exc))}
    target = getattr(module, function, None) if function.isidentifier() else None
    if not callable(target):
        return {"missing": "extend.py of %s has no function %r" % (name, function)}
    try:
        result = target(bucket)
    except BaseException as exc:
        traceback.print_exc()
        return {"error": "%s(bucket) in extend.py of %s raised %s" % (function, name, _describe(exc))}
    try:
        text = json.dumps(result, default=_json_default)
    except (TypeError, ValueError) as exc:
        return {"error": "%s(bucket) in extend.py of %s returned a value that is not JSON: %s"
                         % (function, name, exc)}
    return {"ok": True, "result_json": text}


def _describe(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def main():
    plugin_dir, name = sys.argv[1], sys.argv[2]
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path.insert(0, plugin_dir)
    os.chdir(plugin_dir)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as exc:
            answer = {"error": "bad request to the extend worker: %s" % exc}
        else:
            answer = handle(plugin_dir, name, request)
        if "result_json" in answer:
            answers.write('{"ok": true, "result": %s}\n' % answer["result_json"])
        else:
            answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
