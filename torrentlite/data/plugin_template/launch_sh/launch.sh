#!/bin/bash
# {{name}}: a plugin written as a shell script, as older Torrent Suite plugins were (new plugins should be
# Python classes: `torrentlite plugin new NAME`). The text below is pasted into the job's launch script, which
# has already set RUNINFO__*, PLUGINCONFIG__*, TSP_*, RESULTS_DIR and changed to the output folder.
# The version is read from this line; only a newer version installs over an older one.
VERSION="0.1.0"
# Run types, run levels, features and depends are declared in pluginsettings.json.

GREETING="${PLUGINCONFIG__GREETING:-Hello}"
echo "{{name}} ${VERSION} starting on report ${RUNINFO__PK} in ${RESULTS_DIR}"

# The REST API with the job's key: pluginresult and api_key identify this plugin result.
URL="${RUNINFO__API_URL}/v1/results/${RUNINFO__PK}/?format=json&pluginresult=${RUNINFO__PLUGINRESULT}&api_key=${RUNINFO__API_KEY}"
STATUS=$(python3 - "$URL" <<'PY' || true
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=30) as response:
        print(json.load(response).get("status", ""))
except OSError as exc:
    print("the REST API did not answer: %s" % exc, file=sys.stderr)
PY
)

# results.json becomes the plugin result's `store`; {{name}}_block.html is shown on the report page.
python3 - "$GREETING" "$STATUS" "$VERSION" <<'PY'
import html, json, sys
greeting, status, version = sys.argv[1:4]
with open("results.json", "w") as handle:
    json.dump({"greeting": greeting, "report_status": status}, handle)
with open("{{name}}_block.html", "w") as handle:
    handle.write("<html><body><p>%s from {{name}} %s.</p><p>Report status: %s</p></body></html>"
                 % (html.escape(greeting), html.escape(version), html.escape(status)))
PY
# The exit status decides the state: 0 is Completed, anything else Error.
exit 0
