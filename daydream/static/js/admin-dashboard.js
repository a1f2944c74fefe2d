// The admin dashboard's charts (Chart.js), drawn from the JSON the page embeds.
(() => {
  const source = document.getElementById("dashboard-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const dark = window.matchMedia("(prefers-color-scheme: dark)").matches
    || document.documentElement.classList.contains("dark");
  Chart.defaults.color = dark ? "#d1d5db" : "#374151";
  Chart.defaults.borderColor = dark ? "#374151" : "#e5e7eb";
  Chart.defaults.maintainAspectRatio = false;

  const colours = { done: "#4f46e5", failed: "#dc2626", cancelled: "#d97706", wait: "#0891b2", run: "#7c3aed", credits: "#059669" };
  const definitions = {
    tasks: (range) => ({
      type: "bar",
      data: { labels: range.labels, datasets: ["done", "failed", "cancelled"].map((key) => ({ label: key, data: range[key], backgroundColor: colours[key], stack: "tasks" })) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    }),
    times: (range) => ({
      type: "line",
      data: { labels: range.labels, datasets: [
        { label: "wait (s)", data: range.wait, borderColor: colours.wait, backgroundColor: colours.wait, spanGaps: true },
        { label: "run (s)", data: range.run, borderColor: colours.run, backgroundColor: colours.run, spanGaps: true },
      ] },
      options: { scales: { y: { beginAtZero: true } } },
    }),
    failures: (range) => ({
      type: "bar",
      data: { labels: range.labels, datasets: [{ label: "failed", data: range.failed, backgroundColor: colours.failed }] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    }),
    credits: (range) => ({
      type: "line",
      data: { labels: range.labels, datasets: [{ label: "credits spent", data: range.credits, borderColor: colours.credits, backgroundColor: colours.credits, fill: false }] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    }),
  };

  const charts = [];
  function draw(rangeName) {
    charts.splice(0).forEach((chart) => chart.destroy());
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const config = definitions[canvas.dataset.chart](data[rangeName]);
      config.options.animation = false;
      charts.push(new Chart(canvas, config));
    });
    document.querySelectorAll("[data-range]").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.range === rangeName));
    });
    document.getElementById("dashboard-data").dataset.drawn = rangeName;
  }
  document.querySelectorAll("[data-range]").forEach((button) => {
    button.addEventListener("click", () => draw(button.dataset.range));
  });
  draw("day");
})();
