#!/usr/bin/env python
"""BED publisher, registration: register the four forms validate.py wrote as content of the upload.

Usage (as the server runs it): register.py <upload id> <upload dir> <BED file> <meta.json>
"""
from __future__ import print_function

import io
import json
import os
import sys

import publisher_api


def main(upload_id, upload_dir, bed_file, meta_file):
    with io.open(meta_file, encoding="utf-8") as handle:
        meta = json.load(handle)
    reference = meta["reference"]
    name = os.path.basename(bed_file)
    for kind in ("unmerged/plain", "unmerged/detail", "merged/plain", "merged/detail"):
        path = os.path.join(upload_dir, reference, kind, name)
        if not os.path.isfile(path):
            publisher_api.fail(upload_id, "%s is missing; was the file validated?" % path)
        publisher_api.post("content/register/%s" % upload_id, {
            "file": path, "path": "/%s/%s/%s" % (reference, kind, name), "meta": meta,
            "type": "hotspot" if meta.get("hotspot") else "target", "extra": reference,
            "description": meta.get("description", ""), "notes": meta.get("notes", "")})
        print("registered /%s/%s/%s" % (reference, kind, name))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(1)
    main(*sys.argv[1:])
