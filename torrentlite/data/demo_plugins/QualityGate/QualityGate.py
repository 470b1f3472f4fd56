#!/usr/bin/env python3
"""QualityGate: passes or fails a run against quality thresholds set per site, plan or launch."""
# Where the thresholds come from (first one set wins, as on Torrent Suite): the form of instance.html
# when someone launches it from a report, the global configuration saved by config.html, the plan's
# settings from plan.html, then the defaults in extend.py. The metrics are read through the REST API
# with the job's own key; the verdict goes to the report block and to results.json.
import html

from ion.plugin import IonPlugin, PluginCLI, RunLevel, RunType

import extend  # the plugin's folder is on the path: the pages' check and the job share one rule


class QualityGate(IonPlugin):
    """Checks reads, read length, Q20 bases and bead loading of a run against thresholds."""
    version = "1.0.0"
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    runlevels = [RunLevel.DEFAULT]

    def launch(self, data=None):
        pk = self.startplugin["runinfo"]["pk"]
        quality = first(self.get_restobj("qualitymetrics", {"report": pk}))
        analysis = first(self.get_restobj("analysismetrics", {"report": pk}))
        bases = float(quality.get("q0_bases") or 0)
        metrics = {"reads": quality.get("q0_reads"), "mean_length": quality.get("q0_mean_read_length"),
                   "q20_percent": round(100 * float(quality.get("q20_bases") or 0) / bases, 1) if bases else None,
                   "loading": analysis.get("loading")}
        config = self.startplugin.get("pluginconfig") or {}
        outcome = extend.evaluate(metrics, config)
        with open("QualityGate_block.html", "w") as page:
            page.write(block(outcome))
        self.results = dict(outcome, metrics=metrics)
        return True


def first(page):
    """The first object of a list response, {} when there is none (or the API could not be reached)."""
    objects = (page or {}).get("objects") if isinstance(page, dict) else None
    return objects[0] if objects else {}


def block(outcome):
    colour = "#1a7f37" if outcome["verdict"] == "pass" else "#cf222e"
    rows = "".join("<tr><td>%s</td><td>%s%s</td><td>%s%s</td><td>%s</td></tr>" % (
        html.escape(r["check"]), r["value"], r["unit"], r["threshold"], r["unit"], "pass" if r["passed"] else "FAIL")
        for r in outcome["checks"])
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
            "<p style='font-size:1.4em;color:%s'><b>%s</b></p><table><tr><th>Check</th><th>Run</th>"
            "<th>Threshold</th><th></th></tr>%s</table></body></html>\n" % (colour, outcome["verdict"].upper(), rows))


if __name__ == "__main__":
    PluginCLI()
