#!/usr/bin/env python3
"""ExportReport: packs a report's files into one zip, showing its progress while it works."""
# A LAST-level plugin with the export feature runs after every other plugin of the report, one export
# at a time. Progress is shown two ways, as the SDK describes: the _block.html is rewritten (with a
# refresh) while the job runs, and the plugin result's store is updated through the REST API with the
# job's own key, so scripts can follow it with GET pluginresult/<pk>/.
import json
import os
import urllib.request
import zipfile

from ion.plugin import Feature, IonPlugin, PluginCLI, RunLevel, RunType

STORED = (".bam", ".bai", ".zip", ".gz", ".png")  # already compressed: deflating again only costs time


class ExportReport(IonPlugin):
    """Exports the report folder (reads, metrics, plugin results) as a single zip file."""
    version = "1.0.0"
    runtypes = [RunType.FULLCHIP, RunType.THUMB, RunType.COMPOSITE]
    runlevels = [RunLevel.LAST]
    features = [Feature.EXPORT]

    def launch(self, data=None):
        runinfo = self.startplugin["runinfo"]
        report = runinfo["report_root_dir"]
        files = list(report_files(report, skip="ExportReport_out"))  # its own folders left out
        total = sum(size for _path, size in files) or 1
        name = self.startplugin["expmeta"]["output_file_name_stem"] + ".zip"
        done, step = 0, max(1, len(files) // 20)
        with zipfile.ZipFile(name + ".part", "w") as archive:
            for index, (path, size) in enumerate(files, start=1):
                method = zipfile.ZIP_STORED if path.endswith(STORED) else zipfile.ZIP_DEFLATED
                archive.write(path, os.path.relpath(path, report), compress_type=method)
                done += size
                if index % step == 0 or index == len(files):
                    self.progress(100 * done // total, index, len(files))
        os.replace(name + ".part", name)  # the zip appears under its name only when complete
        with open("ExportReport_block.html", "w") as html:
            html.write("<html><body><p>Exported %d files (%.1f MB): <a href='%s'>%s</a></p></body></html>\n"
                       % (len(files), os.path.getsize(name) / 1e6, name, name))
        self.results = {"zip": name, "files": len(files), "bytes": os.path.getsize(name), "progress": 100}
        return True

    def progress(self, percent, done, total):
        with open("ExportReport_block.html", "w") as html:
            html.write('<html><head><meta http-equiv="refresh" content="5"></head><body>'
                       "<p>Exporting: %d %% (%d of %d files)</p></body></html>\n" % (percent, done, total))
        self.update_store({"progress": percent, "files_done": done, "files": total})

    def update_store(self, store):
        """PATCH this job's own plugin result; its key (runinfo api_key) is valid for that."""
        runinfo = self.startplugin["runinfo"]
        url = "%s/v1/pluginresult/%s/?pluginresult=%s&api_key=%s" % (
            runinfo["api_url"], runinfo["pluginresult"], runinfo["pluginresult"], runinfo["api_key"])
        request = urllib.request.Request(url, data=json.dumps({"store": store}).encode(), method="PATCH",
                                         headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except OSError as exc:  # progress is a courtesy: never fail the export over it
            self.log.warning("progress update failed: %s", exc)


def report_files(report, skip):
    """(path, size) of every regular file in the report, except the output folders of this plugin."""
    for folder, dirs, names in os.walk(report):
        dirs[:] = sorted(d for d in dirs if not d.startswith(skip))
        for name in sorted(names):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield path, os.path.getsize(path)


if __name__ == "__main__":
    PluginCLI()
