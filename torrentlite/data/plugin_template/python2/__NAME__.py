#!/usr/bin/python
# {{name}}: a Torrent Suite plugin written for the Python 2.7 plugin environment of Torrent Suite 5. The code
# also runs on Python 3, so torrentlite runs it too. Read it top to bottom: every comment explains one part of
# the plugin SDK. `torrentlite plugin check .` compiles it with Python 2.7 when this machine has one.
from __future__ import absolute_import, division, print_function, unicode_literals

import io
import json
import os

try:  # Python 2
    from cgi import escape
    from urllib import urlencode
    from urllib2 import URLError, urlopen
except ImportError:  # Python 3
    from html import escape
    from urllib.error import URLError
    from urllib.parse import urlencode
    from urllib.request import urlopen

from ion.plugin import IonPlugin, PluginCLI, RunLevel, RunType


# The class must have the same name as the folder and this file. Its docstring is the plugin's description.
class {{name}}(IonPlugin):
    """Summarises a run: reads, barcodes and the report's status, as a block on the report page."""

    # Dotted numbers. Only a newer version can be installed over an older one (1.0.10 is newer than 1.0.9).
    version = "0.1.0"
    # On which reports it may run: whole chip, thumbnail and composite (merged) reports.
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    # When the pipeline runs it; DEFAULT is when the report's files are complete.
    runlevels = [RunLevel.DEFAULT]
    # Feature.EXPORT would mark a plugin that copies data off the box.
    features = []
    # Names of plugins whose results this one reads; they are never launched for you, only waited for.
    depends = []
    major_block = False
    requires_configuration = False

    def launch(self, data=None):
        """Called once per run level. The working directory is this run's output folder."""
        with io.open("startplugin.json", encoding="utf-8") as handle:
            startplugin = json.load(handle)
        runinfo = startplugin["runinfo"]
        # A manual launch's instance.html answer, else the global config (config.html), else the plan's.
        config = startplugin.get("pluginconfig") or {}
        greeting = "%s" % config.get("greeting", "Hello")
        print("%s starting on report %s in %s" % (self.name, runinfo["pk"], runinfo["results_dir"]))

        barcodes = {}
        if os.path.exists("barcodes.json"):
            with io.open("barcodes.json", encoding="utf-8") as handle:
                barcodes = json.load(handle)
        reads = dict((name, entry.get("read_count", 0)) for name, entry in barcodes.items())

        report = self.read_report(runinfo)

        # results.json becomes the plugin result's `store`.
        summary = {"greeting": greeting, "barcodes": len(reads), "total_reads": sum(reads.values()),
                   "report_status": report.get("status") if report else None}
        with io.open("results.json", "w", encoding="utf-8") as handle:
            handle.write("%s" % json.dumps(summary, indent=2))

        rows = "".join("<tr><td>%s</td><td>%s</td></tr>" % (escape(name), reads[name]) for name in sorted(reads))
        with io.open("{{name}}_block.html", "w", encoding="utf-8") as handle:
            handle.write("<html><body><p>%s from %s %s.</p><p>Report status: %s</p>"
                         "<table><tr><th>barcode</th><th>reads</th></tr>%s</table></body></html>"
                         % (escape(greeting), escape(self.name), escape(self.version),
                            escape("%s" % summary["report_status"]), rows))
        return True

    def read_report(self, runinfo):
        """GET results/<pk>/ from the REST API with the job's key (pluginresult and api_key)."""
        # Torrent Suite 5's self.get_restobj() fails (it uses a module it never imports): call the API directly.
        query = urlencode({"format": "json", "pluginresult": runinfo["pluginresult"], "api_key": runinfo["api_key"]})
        url = "%s/v1/results/%s/?%s" % (runinfo["api_url"].rstrip("/"), runinfo["pk"], query)
        try:
            return json.loads(urlopen(url, timeout=30).read().decode("utf-8"))
        except (URLError, IOError, ValueError) as exc:
            print("the REST API did not answer: %s" % exc)
            return None


if __name__ == "__main__":
    PluginCLI()
