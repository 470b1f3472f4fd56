"""Endpoints plugins and their scripts read: barcodesampleinfo, the report PDF, ionmeshnode/system_id."""
from __future__ import annotations

import socket

from torrentlite.api.errors import canned
from torrentlite.api.http import Api, Call, Response
from torrentlite.runner.startplugin import build_barcodes, load_report
from torrentlite.store.identity import system_id


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

    @api.endpoint("ionmeshnode", "system_id/", ("GET", "OPTIONS"))
    def mesh_system_id(call: Call) -> Response:
        return Response(200, {"system_id": system_id(api.settings.data_path), "hostname": socket.getfqdn()})
