"""QualityGate's REST extension: /rundb/api/v1/plugin/QualityGate/extend/<function>/.

Pages call `check` to preview a verdict; the plugin itself uses evaluate() from here, so the rule
that the pages show and the rule the job applies are the same code.
"""

# Each check: (threshold key, metric key, label, unit). A run passes a check when metric >= threshold.
CHECKS = (
    ("min_reads", "reads", "Reads", ""),
    ("min_mean_length", "mean_length", "Mean read length", " bp"),
    ("min_q20_percent", "q20_percent", "Bases at Q20 or better", " %"),
    ("min_loading", "loading", "Bead loading", " %"),
)
DEFAULTS = {"min_reads": 1000, "min_mean_length": 100, "min_q20_percent": 60, "min_loading": 50}


def thresholds(config):
    """The defaults overridden by whatever numbers a configuration gives."""
    merged = dict(DEFAULTS)
    for key in DEFAULTS:
        try:
            merged[key] = float((config or {}).get(key, merged[key]))
        except (TypeError, ValueError):
            pass
    return merged


def evaluate(metrics, config):
    """One entry per check, and the verdict: "pass" when every check passes."""
    limits = thresholds(config)
    rows = []
    for key, metric, label, unit in CHECKS:
        value = metrics.get(metric)
        passed = value is not None and float(value) >= limits[key]
        rows.append({"check": label, "value": value, "threshold": limits[key], "unit": unit, "passed": passed})
    return {"verdict": "pass" if all(r["passed"] for r in rows) else "fail", "checks": rows}


def check(bucket):
    """GET ...?reads=&mean_length=&q20_percent=&loading=&min_reads=...: the verdict for those numbers."""
    query = bucket["request_get"]
    metrics = {}
    for _key, metric, _label, _unit in CHECKS:
        try:
            metrics[metric] = float(query.get(metric)) if query.get(metric) not in (None, "") else None
        except ValueError:
            metrics[metric] = None
    config = {key: query.get(key) for key in DEFAULTS if query.get(key) not in (None, "")}
    return evaluate(metrics, dict(bucket.get("config") or {}, **config))


def defaults(bucket):
    """The built-in thresholds, for pages that offer a reset."""
    return DEFAULTS
