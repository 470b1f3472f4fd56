"""The REST calls publisher scripts make, with the address and key torrentlite gives them."""
from __future__ import print_function

import json
import os

import requests

API = os.environ.get("TORRENTLITE_API_URL", "http://localhost/rundb/api").rstrip("/")


def _headers():
    headers = {"Content-Type": "application/json"}
    key = os.environ.get("TORRENTLITE_API_KEY")
    if key:
        headers["Authorization"] = "ApiKey " + key
    return headers


def post(path, body):
    """POST JSON to <api>/v1/<path>/; raises on an HTTP error."""
    response = requests.post("%s/v1/%s/" % (API, path.strip("/")), data=json.dumps(body), headers=_headers())
    response.raise_for_status()
    return response


def patch(resource, pk, **fields):
    """PATCH fields of <resource>/<pk>/; raises on an HTTP error."""
    response = requests.patch("%s/v1/%s/%s/" % (API, resource, pk), data=json.dumps(fields), headers=_headers())
    response.raise_for_status()
    return response


def fail(upload_id, message):
    """Report an error as the upload status (what the upload page shows) and stop."""
    print("Error: " + message)
    try:
        patch("contentupload", upload_id, status="Error: " + message)
    finally:
        raise SystemExit(1)
