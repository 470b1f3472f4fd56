#!/usr/bin/env python
"""refAnnot publisher: register an uploaded annotation (GTF/GFF) or auxiliary reference (FASTA) file.

Usage (as the server runs it): register.py <upload id> <upload dir> <file> <meta.json>
The meta must name the reference; `annot_type` "AuxiliaryReference" registers an auxiliary reference.
"""
from __future__ import print_function

import io
import json
import os
import sys

import publisher_api

FILE_TYPES = ("gff", "gff3", "gtf", "gtf2", "gtf3", "fasta")


def main(upload_id, upload_dir, upload_file, meta_file):
    with io.open(meta_file, encoding="utf-8") as handle:
        meta = json.load(handle)
    reference = str(meta.get("reference") or "").strip()
    if not reference:
        publisher_api.fail(upload_id, "the upload's meta needs the short name of its reference")
    kind = "AuxiliaryReference" if meta.get("annot_type") == "AuxiliaryReference" else "Annotation"
    for path in meta.get("validate_files") or [upload_file]:
        if not meta.get("file_type"):
            extension = (meta.get("url") or path).rsplit(".", 1)[-1].lower()
            meta["file_type"] = extension.upper() if extension in FILE_TYPES else ""
        publisher_api.post("content/register/%s" % upload_id, {
            "file": path, "path": "/%s/%s" % (reference, os.path.basename(path)), "meta": meta, "type": kind,
            "extra": reference, "application_tags": meta.get("application_tags", ""),
            "description": meta.get("description", "")})
        print("registered /%s/%s" % (reference, os.path.basename(path)))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(1)
    main(*sys.argv[1:])
