/* The patient chart's progress charts (Chart.js, vendored). The data comes from the
   <script type="application/json" id="chart-data"> block the server wrote with json_script:
   this file only draws it. Every chart has a table beside it with the same numbers. */
(function () {
  "use strict";

  const COLOURS = {
    baseline: "#5b6673",
    latest: "#0b5cab",
    threshold: "#a4161a",
    proposed: "#b36200",
    familiarisation: "#ffffff",
    maintenance: "#5a2d82",
    maintenanceBand: "rgba(90, 45, 130, 0.08)",
  };
  const DAY_MS = 86400000;

  function dateFormatter(timeZone) {
    const short = new Intl.DateTimeFormat(undefined, { timeZone, year: "numeric", month: "short", day: "numeric" });
    return (ms) => short.format(new Date(ms));
  }

  function timeAxis(formatDate, title) {
    return {
      type: "linear",
      title: { display: Boolean(title), text: title },
      ticks: { maxTicksLimit: 6, callback: (value) => formatDate(value) },
    };
  }

  function baseOptions(formatDate, scales) {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true } },
        tooltip: { callbacks: { title: (items) => (items.length ? formatDate(items[0].parsed.x) : "") } },
      },
      scales,
    };
  }

  function strengthCurve(item, formatDate) {
    const curve = (test) => test.points.map(([angle, nm]) => ({ x: angle, y: nm }));
    const datasets = [
      {
        label: `Baseline, ${formatDate(item.baseline.at)}`,
        data: curve(item.baseline),
        borderColor: COLOURS.baseline,
        backgroundColor: COLOURS.baseline,
        borderDash: [6, 4],
        pointStyle: "rect",
        pointRadius: 4,
      },
    ];
    if (item.latest) {
      datasets.push({
        label: `Latest, ${formatDate(item.latest.at)}`,
        data: curve(item.latest),
        borderColor: COLOURS.latest,
        backgroundColor: COLOURS.latest,
        pointRadius: 4,
        borderWidth: 3,
      });
    }
    const inUnit = (nm) => (nm / item.nmPerUnit).toFixed(1);
    const angles = datasets.flatMap((dataset) => dataset.data.map((point) => point.x));
    const options = baseOptions(formatDate, {
      x: {
        type: "linear",
        min: Math.min(...angles),
        max: Math.max(...angles),
        title: { display: true, text: "Angle (°)" },
        ticks: { stepSize: item.angleStep },
      },
      y: { min: 0, max: item.yMax, title: { display: true, text: "Torque (N·m)" } },
      // The same torque in the machine's unit: one scale, two labels.
      y2: {
        position: "right",
        min: 0,
        max: item.yMax / item.nmPerUnit,
        grid: { drawOnChartArea: false },
        title: { display: true, text: `Torque (${item.unit})` },
        ticks: { callback: (value) => Math.round(value) },
      },
    });
    options.plugins.tooltip.callbacks = {
      title: (items) => (items.length ? `${items[0].parsed.x}°` : ""),
      label: (ctx) => `${ctx.dataset.label}: ${ctx.parsed.y} N·m (${inUnit(ctx.parsed.y)} ${item.unit})`,
    };
    return { type: "line", data: { datasets }, options };
  }

  function strengthIndex(item, formatDate) {
    const data = item.index.map(([at, value, familiarisation]) => ({ x: at, y: value, familiarisation }));
    const options = baseOptions(formatDate, {
      x: timeAxis(formatDate),
      y: { beginAtZero: true, title: { display: true, text: "Strength index (N·m·°)" } },
    });
    const dataset = {
      label: "Strength index",
      data,
      borderColor: COLOURS.latest,
      backgroundColor: COLOURS.latest,
      pointRadius: 5,
      pointBackgroundColor: (ctx) => (ctx.raw && ctx.raw.familiarisation ? COLOURS.familiarisation : COLOURS.latest),
    };
    return { type: "line", data: { datasets: [dataset] }, options };
  }

  function score(item, formatDate) {
    const data = item.points.map(([at, value]) => ({ x: at, y: value }));
    const datasets = [
      { label: item.title, data, borderColor: COLOURS.latest, backgroundColor: COLOURS.latest, pointRadius: 4 },
    ];
    if (item.threshold !== null && data.length) {
      const first = data[0].x;
      const last = Math.max(data[data.length - 1].x, first + 86400000);
      datasets.push({
        label: `Clinically important improvement (≤ ${item.threshold.toFixed(1)})`,
        data: [
          { x: first, y: item.threshold },
          { x: last, y: item.threshold },
        ],
        borderColor: COLOURS.threshold,
        backgroundColor: COLOURS.threshold,
        borderDash: [8, 5],
        pointRadius: 0,
        pointStyle: "line",
      });
    }
    const options = baseOptions(formatDate, {
      x: timeAxis(formatDate),
      y: { min: 0, max: item.yMax, title: { display: true, text: `${item.axis} (lower is better)` } },
    });
    return { type: "line", data: { datasets }, options };
  }

  // The maintenance phase as a shaded band from where it began to the right edge, with a line and its
  // label at the start (Chart.js has no annotation plugin vendored: this is the whole of one).
  const phaseBand = {
    id: "phaseBand",
    beforeDatasetsDraw(chart, args, options) {
      if (options.from === undefined || options.from === null) return;
      const { ctx, chartArea: area, scales } = chart;
      const left = Math.max(scales.x.getPixelForValue(options.from), area.left);
      if (left > area.right) return;
      ctx.save();
      ctx.fillStyle = COLOURS.maintenanceBand;
      ctx.fillRect(left, area.top, area.right - left, area.bottom - area.top);
      ctx.strokeStyle = COLOURS.maintenance;
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      ctx.moveTo(left, area.top);
      ctx.lineTo(left, area.bottom);
      ctx.stroke();
      ctx.fillStyle = COLOURS.maintenance;
      ctx.font = "600 12px system-ui, sans-serif";
      ctx.textBaseline = "top";
      // The label reads to the right of the line, or to its left when the band is too narrow for it.
      const fits = left + 6 + ctx.measureText(options.label).width <= area.right;
      ctx.textAlign = fits ? "left" : "right";
      ctx.fillText(options.label, fits ? left + 6 : left - 6, area.top + 4);
      ctx.restore();
    },
  };

  function load(item, formatDate) {
    const point = ([at, value, , stopped]) => ({ x: at, y: value, stopped });
    const trained = item.points.filter((p) => !p[4]).map(point);
    const kept = item.points.filter((p) => p[4]).map(point);
    const proposed = item.points.filter((p) => p[2] !== null).map(([at, , value]) => ({ x: at, y: value }));
    // The first dataset is drawn on top: proposals stay visible where the trained load matches them.
    const datasets = [
      {
        label: `Proposed (${item.unit})`,
        data: proposed,
        borderColor: COLOURS.proposed,
        backgroundColor: COLOURS.proposed,
        showLine: false,
        pointRadius: 4,
        pointStyle: "triangle",
      },
      {
        label: `Trained (${item.unit}; × stopped early)`,
        data: trained,
        borderColor: COLOURS.latest,
        backgroundColor: COLOURS.latest,
        pointRadius: 3,
        pointStyle: (ctx) => (ctx.raw && ctx.raw.stopped ? "crossRot" : "circle"),
      },
    ];
    if (item.maintenance) {
      datasets.push({
        label: `Maintenance (${item.unit}; × stopped early)`,
        data: kept,
        borderColor: COLOURS.maintenance,
        backgroundColor: COLOURS.maintenance,
        pointRadius: 5,
        pointStyle: (ctx) => (ctx.raw && ctx.raw.stopped ? "crossRot" : "rectRot"),
      });
    }
    if (item.next) {
      datasets.unshift({
        label: `Next session, proposed (${item.unit})`,
        data: [{ x: item.next[0], y: item.next[1] }],
        borderColor: COLOURS.proposed,
        backgroundColor: COLOURS.familiarisation,
        borderWidth: 2,
        pointRadius: 7,
        pointStyle: "triangle",
      });
    }
    const options = baseOptions(formatDate, {
      x: timeAxis(formatDate),
      y: { beginAtZero: false, title: { display: true, text: `Load (${item.unit})` } },
    });
    if (!item.maintenance) return { type: "line", data: { datasets }, options };
    // The band stays in view when no session has followed the start of maintenance yet.
    options.scales.x.suggestedMax = item.maintenance.from + DAY_MS;
    options.plugins.phaseBand = { from: item.maintenance.from, label: `Maintenance, ${item.maintenance.every}` };
    return { type: "line", data: { datasets }, options, plugins: [phaseBand] };
  }

  const BUILDERS = {
    "strength-curve": (data, i, f) => strengthCurve(data.strength[i], f),
    "strength-index": (data, i, f) => strengthIndex(data.strength[i], f),
    score: (data, i, f) => score(data.scores[i], f),
    load: (data, i, f) => load(data.loads[i], f),
  };

  function drawAll() {
    const source = document.getElementById("chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const formatDate = dateFormatter(data.timeZone);
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const build = BUILDERS[canvas.dataset.chart];
      if (build) new window.Chart(canvas, build(data, Number(canvas.dataset.series), formatDate));
    });
  }

  document.addEventListener("DOMContentLoaded", drawAll);
})();
