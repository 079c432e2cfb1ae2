import { js } from "./js";

/**
 * Browser code, part 5: the trend as an SVG bar chart drawn at the container's real width, so
 * text stays its size on a phone: fewer, shorter axis labels when bars are narrow.
 */
export const BAR_CHART_JS = js`
const charts = new Map();

function drawBarChart(box, points, options) {
  charts.set(box, { points, options });
  box.replaceChildren();
  const width = Math.max(240, Math.floor(box.clientWidth || 600));
  const height = width < 500 ? 180 : 220;
  const left = 44;
  const bottom = 22;
  const top = 10;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const withPrevious = points.some((p) => p.previous !== undefined);
  const scale = niceCeiling(points.reduce((m, p) => Math.max(m, p.value, p.previous || 0), 0));
  const chart = svg("svg", { width, height, viewBox: "0 0 " + width + " " + height, "aria-hidden": "true" });
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH - plotH * fraction;
    chart.appendChild(svg("line", { x1: left, x2: width - 8, y1: y, y2: y, class: "grid" }));
    chart.appendChild(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, compact(scale * fraction)));
  }
  const slot = points.length ? plotW / points.length : plotW;
  // One label per ~56 px (48 px for times of day), at most every bar.
  const every = Math.max(1, Math.ceil(points.length / Math.max(1, Math.floor(plotW / (options.bucket === "hour" ? 48 : 56)))));
  points.forEach((p, i) => {
    const barHeight = (value) => (value > 0 ? Math.max(1, (plotH * value) / scale) : 0);
    const x = left + i * slot;
    const h = barHeight(p.value);
    const title = p.label + ": " + withUnit(p.value, options.unit) + (withPrevious ? " (previous period " + withUnit(p.previous || 0, options.unit) + ")" : "");
    if (withPrevious) {
      // The previous period's bar behind, a little wider: the same bucket one range-length earlier.
      const ph = barHeight(p.previous || 0);
      chart.appendChild(svg("rect", { class: "previous", x: x + slot * 0.06, y: top + plotH - ph, width: Math.max(1, slot * 0.88), height: ph }));
    }
    const bar = svg("rect", { x: x + slot * 0.2, y: top + plotH - h, width: Math.max(1, slot * 0.6), height: h, "data-label": p.label });
    bar.appendChild(svg("title", {}, title));
    chart.appendChild(bar);
    if (i % every === 0) {
      chart.appendChild(svg("text", { x: x + slot / 2, y: height - 6, "text-anchor": "middle", class: "axis" }, shortBucketLabel(p.label, options.bucket)));
    }
  });
  box.appendChild(chart);
}

/** The axis top: the smallest 1, 2, 2.5 or 5 × 10^k at or above the highest bar. */
function niceCeiling(x) {
  if (!(x > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(x)));
  const f = x / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * power;
}

let redrawTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(redrawTimer);
  redrawTimer = setTimeout(() => {
    for (const [box, chart] of charts) if (box.isConnected) drawBarChart(box, chart.points, chart.options);
  }, 150);
});
`;
