/* The outcomes report's five charts (Chart.js, vendored). The numbers come from the
   <script type="application/json" id="outcomes-data"> block the server wrote with json_script
   (apps/web/outcomes.py `chart_data`): this file only draws them. A figure that is too few is
   null there and is not drawn; the table beside each chart says "too few". */
(function () {
  "use strict";

  const COLOURS = {
    primary: "#0b5cab",
    band: "rgba(11, 92, 171, 0.16)",
    secondary: "#b36200",
    ndi: "#5a2d82",
    whisker: "#17202b",
    zero: "#5b6673",
    grid: "rgba(23, 32, 43, 0.1)",
  };

  const percent = (value) => `${value.toFixed(1)} %`;
  const range = (low, high) => `${low.toFixed(1)}–${high.toFixed(1)}`;

  // Whiskers over each bar of a dataset that carries `intervals` ([low, high] per bar, null for
  // none): the Wilson interval of a rate, the IQR of a median. Chart.js has no error-bar plugin
  // vendored: this is the whole of one.
  const whiskers = {
    id: "whiskers",
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      chart.data.datasets.forEach((dataset, index) => {
        if (!dataset.intervals || !chart.isDatasetVisible(index)) return;
        const scale = chart.scales[dataset.yAxisID || "y"];
        ctx.save();
        ctx.strokeStyle = COLOURS.whisker;
        ctx.lineWidth = 1.5;
        chart.getDatasetMeta(index).data.forEach((bar, i) => {
          const interval = dataset.intervals[i];
          if (!interval) return;
          const [top, bottom] = [scale.getPixelForValue(interval[1]), scale.getPixelForValue(interval[0])];
          const half = Math.max(3, Math.min(8, bar.width / 4));
          ctx.beginPath();
          ctx.moveTo(bar.x, top);
          ctx.lineTo(bar.x, bottom);
          for (const y of [top, bottom]) {
            ctx.moveTo(bar.x - half, y);
            ctx.lineTo(bar.x + half, y);
          }
          ctx.stroke();
        });
        ctx.restore();
      });
    },
  };

  const zeroLine = (ctx) => (ctx.tick && ctx.tick.value === 0 ? COLOURS.zero : COLOURS.grid);

  function baseOptions(scales, tooltip) {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom", labels: { usePointStyle: true } }, tooltip: { callbacks: tooltip } },
      scales,
    };
  }

  function curve(data) {
    const bins = data.curve;
    const line = (key) => bins.map((bin) => bin[key]);
    const datasets = [
      {
        label: "Median",
        data: line("median"),
        borderColor: COLOURS.primary,
        backgroundColor: COLOURS.primary,
        borderWidth: 3,
        pointRadius: 4,
      },
      // The band: the lower quartile filled up to the upper one (dataset -1).
      { label: "Upper quartile", data: line("q3"), borderColor: COLOURS.band, pointRadius: 0, fill: false },
      {
        label: "Interquartile range",
        data: line("q1"),
        borderColor: COLOURS.band,
        backgroundColor: COLOURS.band,
        pointRadius: 0,
        pointStyle: "rect",
        fill: "-1",
      },
    ];
    const options = baseOptions(
      {
        x: { offset: true, title: { display: true, text: "Sessions completed before the retest" } },
        y: { title: { display: true, text: "Strength-index change (%)" }, grid: { color: zeroLine } },
      },
      {
        title: (items) => (items.length ? `Sessions ${items[0].label}` : ""),
        label: (ctx) => {
          const bin = bins[ctx.dataIndex];
          return `Median ${percent(bin.median)}, IQR ${range(bin.q1, bin.q3)}, n = ${bin.n}`;
        },
      },
    );
    // One line per bin, from the median's point: the quartiles' datasets only draw the band.
    options.plugins.tooltip.filter = (item) => item.datasetIndex === 0 && bins[item.dataIndex].median !== null;
    options.plugins.legend.labels.filter = (item) => item.text !== "Upper quartile";
    return { type: "line", data: { labels: line("label"), datasets }, options };
  }

  function rateTooltip(groups, key) {
    return (ctx) => {
      const figure = groups[ctx.dataIndex][key];
      if (figure.n === null) return `${ctx.dataset.label}: too few`;
      if (key === "responders") {
        return `${ctx.dataset.label}: ${percent(figure.rate)} (95 % CI ${range(figure.low, figure.high)}), n = ${figure.n}`;
      }
      return `${ctx.dataset.label}: ${percent(figure.median)} (IQR ${range(figure.q1, figure.q3)}), n = ${figure.n}`;
    };
  }

  const groupLabel = (group, figure) => (figure.n === null ? `${group.label} (too few)` : group.label);

  function responderDataset(groups) {
    return {
      label: "Responders (%)",
      data: groups.map((group) => group.responders.rate),
      intervals: groups.map(({ responders: r }) => (r.n === null ? null : [r.low, r.high])),
      backgroundColor: COLOURS.primary,
      maxBarThickness: 72,
    };
  }

  function clinics(data) {
    const groups = data.clinics;
    const options = baseOptions(
      {
        x: { ticks: { autoSkip: false, maxRotation: 45 } },
        y: { min: 0, max: 100, title: { display: true, text: "Responders (%), whiskers: 95 % CI" } },
      },
      { label: rateTooltip(groups, "responders") },
    );
    options.plugins.legend.display = false;
    const labels = groups.map((group) => groupLabel(group, group.responders));
    return { type: "bar", data: { labels, datasets: [responderDataset(groups)] }, options, plugins: [whiskers] };
  }

  function scatter(data) {
    const dots = (instrument) =>
      data.scatter.filter((point) => point[2] === instrument).map(([x, y]) => ({ x, y }));
    const datasets = [
      { label: "ODI (lumbar)", data: dots("ODI"), backgroundColor: "rgba(11, 92, 171, 0.55)", pointRadius: 3.5 },
      {
        label: "NDI (cervical)",
        data: dots("NDI"),
        backgroundColor: "rgba(90, 45, 130, 0.6)",
        pointStyle: "triangle",
        pointRadius: 4,
      },
    ].filter((dataset) => dataset.data.length);
    const options = baseOptions(
      {
        x: { title: { display: true, text: "Strength-index change (%)" }, grid: { color: zeroLine } },
        y: { title: { display: true, text: "ODI/NDI change (points)" }, grid: { color: zeroLine } },
      },
      { label: (ctx) => `${ctx.dataset.label}: strength ${percent(ctx.parsed.x)}, PROM ${ctx.parsed.y.toFixed(1)}` },
    );
    options.interaction = { mode: "nearest", intersect: true };
    return { type: "scatter", data: { datasets }, options };
  }

  function adherence(data) {
    const groups = data.adherence;
    const strength = {
      label: "Median strength-index change (%)",
      data: groups.map((group) => group.strength.median),
      intervals: groups.map(({ strength: s }) => (s.n === null ? null : [s.q1, s.q3])),
      backgroundColor: COLOURS.secondary,
      yAxisID: "y2",
      maxBarThickness: 72,
    };
    // The axis holds the whiskers too: Chart.js scales to the bars alone.
    const reach = strength.intervals.flat().filter((value) => value !== null);
    const options = baseOptions(
      {
        y: { min: 0, max: 100, title: { display: true, text: "Responders (%), whiskers: 95 % CI" } },
        y2: {
          position: "right",
          suggestedMin: Math.min(0, ...reach),
          suggestedMax: Math.max(0, ...reach),
          grid: { drawOnChartArea: false },
          title: { display: true, text: "Strength change (%), whiskers: IQR" },
        },
      },
      {
        label: (ctx) => rateTooltip(groups, ctx.datasetIndex === 0 ? "responders" : "strength")(ctx),
      },
    );
    const labels = groups.map((group) => groupLabel(group, group.responders));
    return { type: "bar", data: { labels, datasets: [responderDataset(groups), strength] }, options, plugins: [whiskers] };
  }

  function dropout(data) {
    const weeks = data.dropout;
    const dataset = {
      label: "Dropped out that week (% of programs)",
      data: weeks.map(([, share]) => share),
      backgroundColor: COLOURS.secondary,
      maxBarThickness: 48,
    };
    const options = baseOptions(
      {
        x: { title: { display: true, text: "Week of the program" } },
        y: { beginAtZero: true, title: { display: true, text: "Dropped out (% of programs)" } },
      },
      { label: (ctx) => `${percent(ctx.parsed.y)} of the programs` },
    );
    options.plugins.legend.display = false;
    return { type: "bar", data: { labels: weeks.map(([week]) => `Week ${week}`), datasets: [dataset] }, options };
  }

  const BUILDERS = { curve, clinics, scatter, adherence, dropout };

  function drawAll() {
    const source = document.getElementById("outcomes-data");
    if (!source || typeof window.Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const build = BUILDERS[canvas.dataset.chart];
      if (build) new window.Chart(canvas, build(data));
    });
  }

  document.addEventListener("DOMContentLoaded", drawAll);
})();
