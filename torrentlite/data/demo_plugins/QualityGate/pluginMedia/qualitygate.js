// Shared by QualityGate's pages: the threshold form, the REST calls and the verdict preview.
// The server injects TB_plugin, TB_pluginMedia, TB_user, TB_result and TB_result_json before this runs.
var QG_FIELDS = ["min_reads", "min_mean_length", "min_q20_percent", "min_loading"];
var QG_API = "/rundb/api/v1/";

function qgRequest(method, url, body) {
  return fetch(url, {method: method, credentials: "same-origin",
                     headers: body ? {"Content-Type": "application/json"} : {},
                     body: body ? JSON.stringify(body) : undefined})
    .then(function (r) { if (!r.ok) { throw new Error(method + " " + url + ": " + r.status); }
                         return r.status === 204 ? null : r.json(); });
}

// Thresholds typed in the form (only the fields given).
function qgReadForm() {
  var config = {};
  QG_FIELDS.forEach(function (name) {
    var value = document.getElementById(name).value;
    if (value !== "") { config[name] = Number(value); }
  });
  return config;
}

function qgFillForm(config) {
  QG_FIELDS.forEach(function (name) {
    if (config && config[name] !== undefined) { document.getElementById(name).value = config[name]; }
  });
}

// Show the extend.py defaults as placeholders, so an empty field says what it falls back to.
function qgShowDefaults() {
  return qgRequest("GET", QG_API + "plugin/QualityGate/extend/defaults/").then(function (defaults) {
    QG_FIELDS.forEach(function (name) { document.getElementById(name).placeholder = defaults[name]; });
  });
}

// Ask extend.py's check() what a report's metrics give with the thresholds in the form.
function qgPreview(reportPk) {
  var out = document.getElementById("verdict");
  return Promise.all([qgRequest("GET", QG_API + "qualitymetrics/?report=" + reportPk),
                      qgRequest("GET", QG_API + "analysismetrics/?report=" + reportPk)])
    .then(function (pages) {
      var q = pages[0].objects[0] || {}, a = pages[1].objects[0] || {};
      var params = new URLSearchParams(qgReadForm());
      params.set("reads", q.q0_reads); params.set("mean_length", q.q0_mean_read_length);
      params.set("q20_percent", q.q0_bases ? (100 * q.q20_bases / q.q0_bases).toFixed(1) : "");
      params.set("loading", a.loading);
      return qgRequest("GET", QG_API + "plugin/QualityGate/extend/check/?" + params.toString());
    })
    .then(function (outcome) {
      out.textContent = "Verdict: " + outcome.verdict.toUpperCase() + " — " + outcome.checks.map(function (c) {
        return c.check + " " + c.value + c.unit + (c.passed ? " ≥ " : " < ") + c.threshold + c.unit;
      }).join("; ");
      return outcome;
    })
    .catch(function (error) { out.textContent = String(error); });
}
