#!/usr/bin/env python3
# {{name}}: a torrentlite / Torrent Suite plugin. Read it top to bottom: every comment explains one part of the
# plugin SDK. Try it with `torrentlite plugin test . --result 1`, check it with `torrentlite plugin check .`
# and pack it for installation with `torrentlite plugin pack .`.
import html
import json
import os

# `ion.plugin` is provided to every plugin process: the IonPlugin base class, PluginCLI and the constants.
from ion.plugin import IonPlugin, PluginCLI, RunLevel, RunType


# The class must have the same name as the folder and this file. Its docstring is the plugin's description.
class {{name}}(IonPlugin):
    """Summarises a run: reads, barcodes and the report's status, as a block on the report page."""

    # Dotted numbers. Only a newer version can be installed over an older one (1.0.10 is newer than 1.0.9).
    version = "0.1.0"
    # On which reports it may run: whole chip, thumbnail and composite (merged) reports.
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    # When the pipeline runs it: PRE, BLOCK, SEPARATOR, DEFAULT, POST or LAST (after everything else).
    # DEFAULT is when the report's files are complete; a manual launch runs every level listed here.
    runlevels = [RunLevel.DEFAULT]
    # [Feature.EXPORT] marks a plugin that copies data off the box; such plugins run one at a time, last.
    features = []
    # Names of plugins whose results this one reads; they are never launched for you, only waited for.
    depends = []
    # True to ask the report to show this plugin's block prominently (and in the PDF on Torrent Suite).
    major_block = False
    # True to refuse a launch until the plugin has been configured (config.html saved a configuration).
    requires_configuration = False

    def launch(self, data=None):
        """Called once per run level. The working directory is this run's output folder."""
        # startplugin.json: everything about the run and this job (see the guide for the keys).
        runinfo = self.startplugin["runinfo"]
        # The configuration: a manual launch's instance.html answer, else the global config saved by
        # config.html, else the plan's, else pluginconfig.json in the plugin folder.
        config = self.startplugin.get("pluginconfig") or {}
        greeting = str(config.get("greeting", "Hello"))
        self.log.info("%s starting on report %s in %s", self.name, runinfo["pk"], runinfo["results_dir"])

        # barcodes.json: one entry per barcode of the run (or "nonbarcoded"), with BAM paths and read counts.
        barcodes = {}
        if os.path.exists("barcodes.json"):
            with open("barcodes.json") as handle:
                barcodes = json.load(handle)
        reads = {name: entry.get("read_count", 0) for name, entry in sorted(barcodes.items())}

        # The REST API, as this plugin result: get_restobj adds the job's key (runinfo["api_key"]).
        report = self.read_report(runinfo["pk"])

        # results.json becomes the plugin result's `store`, readable by scripts through the API.
        summary = {"greeting": greeting, "barcodes": len(reads), "total_reads": sum(reads.values()),
                   "report_status": report.get("status") if report else None}
        with open("results.json", "w") as handle:
            json.dump(summary, handle, indent=2)

        # <Name>_block.html is shown on the report page; other .html files are listed as links.
        rows = "".join("<tr><td>%s</td><td>%s</td></tr>" % (html.escape(name), count)
                       for name, count in reads.items())
        with open("{{name}}_block.html", "w") as handle:
            handle.write("<html><body><p>%s from %s %s.</p><p>Report status: %s</p>"
                         "<table><tr><th>barcode</th><th>reads</th></tr>%s</table></body></html>"
                         % (html.escape(greeting), html.escape(self.name), html.escape(self.version),
                            html.escape(str(summary["report_status"])), rows))
        # Returning normally ends the job as Completed; an exception or sys.exit(1) ends it as Error.
        return True

    def read_report(self, pk):
        """GET results/<pk>/ from the API; None (and a line in the log) when the server does not answer."""
        try:
            return self.get_restobj("results/%s" % pk, attempts=2)
        except OSError as exc:
            self.log.warning("the REST API did not answer: %s", exc)
            return None


# Running the file is how the launch script starts the plugin (and how you can try it by hand).
if __name__ == "__main__":
    PluginCLI()
