// Bar charts of the report's metrics with uPlot: data from the page's JSON island, one chart per figure.
(function () {
  function compact(value) {
    var abs = Math.abs(value);
    if (abs >= 1e9) { return (value / 1e9).toFixed(abs >= 1e10 ? 0 : 1) + "G"; }
    if (abs >= 1e6) { return (value / 1e6).toFixed(abs >= 1e7 ? 0 : 1) + "M"; }
    if (abs >= 1e3) { return (value / 1e3).toFixed(abs >= 1e4 ? 0 : 1) + "k"; }
    return String(value);
  }

  function barChart(figure, rows) {
    var target = figure.querySelector(".canvas");
    var labels = rows.map(function (r) { return r[0]; });
    var xs = rows.map(function (_, i) { return i; });
    var ys = rows.map(function (r) { return r[1]; });
    var longest = labels.reduce(function (m, l) { return Math.max(m, String(l).length); }, 0);
    var slanted = longest * rows.length > 48;
    var width = Math.max(280, target.clientWidth || figure.clientWidth - 32);
    var opts = {
      width: width, height: 220, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false, range: [-0.6, rows.length - 0.4] }, y: { range: function (u, min, max) { return [0, max * 1.08 || 1]; } } },
      axes: [
        { label: figure.getAttribute("data-xlabel"), splits: function () { return xs; },
          values: function (u, splits) { return splits.map(function (i) { return labels[i] || ""; }); },
          grid: { show: false }, rotate: slanted ? -35 : 0, size: slanted ? 40 + longest * 5 : 50 },
        { label: figure.getAttribute("data-ylabel"), values: function (u, splits) { return splits.map(compact); }, size: 60 }
      ],
      series: [{}, { label: figure.getAttribute("data-ylabel"), fill: "#3b7dc4", stroke: "#1f5a99",
                     paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }]
    };
    new uPlot(opts, [xs, ys], target);
    figure.classList.add("drawn");
  }

  function draw() {
    var island = document.getElementById("plot-data");
    if (!island || typeof uPlot === "undefined") { return; }
    var data = JSON.parse(island.textContent);
    document.querySelectorAll("figure.plot[data-plot]").forEach(function (figure) {
      var rows = data[figure.getAttribute("data-plot")];
      if (rows && rows.length) { barChart(figure, rows); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
