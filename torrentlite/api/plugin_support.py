"""Endpoints plugins and their scripts read: barcodesampleinfo, the report PDF, ionmeshnode/system_id."""
from __future__ import annotations

import re
import socket

from torrentlite.api.errors import canned
from torrentlite.api.http import Api, Call, Response
from torrentlite.api.pdf import text_pdf
from torrentlite.runner.startplugin import build_barcodes, fetch, load_report
from torrentlite.store.identity import system_id

# (section, table, [(label, column)]) of the report PDF, in the order the report page shows them.
METRICS = (
    ("Unaligned reads", "qualitymetrics", (("Total reads", "q0_reads"), ("Total bases", "q0_bases"),
                                           ("Mean read length", "q0_mean_read_length"),
                                           ("Median read length", "q0_median_read_length"),
                                           ("Mode read length", "q0_mode_read_length"),
                                           ("Q20 bases", "q20_bases"), ("Q20 reads", "q20_reads"))),
    ("Aligned reads", "libmetrics", (("Reads", "totalNumReads"), ("Mapped reads", "total_mapped_reads"),
                                     ("Reference size", "genomesize"), ("Q7 mapped bases", "q7_mapped_bases"),
                                     ("Q20 mapped bases", "q20_mapped_bases"),
                                     ("Q7 mean alignment length", "q7_mean_alignment_length"),
                                     ("Duplicate reads", "duplicate_reads"))),
    ("Ion Sphere particles", "analysismetrics", (("Addressable wells", "total"), ("With ISPs", "bead"),
                                                 ("Live", "live"), ("Library", "lib"),
                                                 ("Test fragment", "tf"), ("Empty", "empty"),
                                                 ("Loading (%)", "loading"), ("Final library", "libFinal"))),
)


def report_sections(store, rep) -> list:
    """The report's facts and metrics as (heading, [(label, value)]) sections."""
    result, exp, plan = rep.result, rep.experiment, rep.plan
    run = [("Report", result.get("resultsName")), ("Status", result.get("status")),
           ("Analysis date", result.get("timeStamp")), ("Run", exp.get("expName")), ("Run date", exp.get("date")),
           ("Instrument", exp.get("pgmName")), ("Platform", exp.get("platform")), ("Chip", exp.get("chipType")),
           ("Flows", exp.get("flows")), ("Plan", plan.get("planName")),
           ("Reference", rep.eas.get("reference") or result.get("reference")),
           ("Barcode kit", rep.eas.get("barcodeKitName")), ("Library key", rep.eas.get("libraryKey")),
           ("Samples", ", ".join(s.get("displayedName") or s.get("name") or "" for s in rep.samples))]
    sections = [("Run", [(k, v) for k, v in run if v not in (None, "")])]
    for heading, table, columns in METRICS:
        rows = fetch(store, table, "report_id = ? ORDER BY id", (rep.pk,))
        if rows:
            sections.append((heading, [(label, rows[0].get(col)) for label, col in columns]))
    for tf in fetch(store, "tfmetrics", "report_id = ? ORDER BY id", (rep.pk,)):
        sections.append((f"Test fragment {tf.get('name')}", [("Reads", tf.get("number")),
                                                             ("Key signal", tf.get("aveKeyCount")),
                                                             ("Mean Q17 length", tf.get("Q17Mean"))]))
    plugins = store.db.execute_sql(
        'SELECT p.name, p.version, (SELECT j.state FROM "PluginResultJob" j WHERE j.plugin_result_id = pr.id '
        'ORDER BY j.grid_engine_jobid DESC LIMIT 1) FROM "pluginresult" pr JOIN "plugin" p ON p.id = pr.plugin_id '
        'WHERE pr.result_id = ? ORDER BY pr.id', (rep.pk,)).fetchall()
    if plugins:
        sections.append(("Plugins", [(f"{name} {version}", state or "Unknown") for name, version, state in plugins]))
    return sections


def register(api: Api) -> None:
    """Register this module's endpoints on ``api``."""
    store = api.store

    def report_of(call: Call):
        rep = load_report(store, int(call.match["pk"]))
        if rep is None:
            raise canned(404)
        return rep

    @api.endpoint("results", r"(?P<pk>\d+)/barcodesampleinfo/")
    def barcode_sample_info(call: Call) -> Response:
        """What barcodes.json holds for this report (per barcode: sample, reference, BED files, BAM …)."""
        return Response(200, build_barcodes(store, report_of(call)) or {})

    @api.endpoint("results", r"(?P<pk>\d+)/report/")
    def report_pdf(call: Call) -> Response:
        """The report's facts and metrics as a PDF, made on each request."""
        rep = report_of(call)
        name = rep.result.get("resultsName") or f"report_{rep.pk}"
        body = text_pdf(f"Report: {name}", report_sections(store, rep))
        filename = re.sub(r"[^A-Za-z0-9._-]+", "_", name) + ".pdf"
        return Response(200, body, {"Content-Type": "application/pdf",
                                    "Content-Disposition": f'inline; filename="{filename}"'})

    @api.endpoint("ionmeshnode", "system_id/", ("GET", "OPTIONS"))
    def mesh_system_id(call: Call) -> Response:
        return Response(200, {"system_id": system_id(api.settings.data_path), "hostname": socket.getfqdn()})
