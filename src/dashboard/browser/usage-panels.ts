import { js } from "./js";

/**
 * Browser code, part 7: the usage panels both the all-subjects view and a subject's page show for
 * the chosen range: totals per meter, the trend of one meter, and a breakdown by any dimension,
 * with the previous period beside each figure when asked and the server answers it.
 */
export const USAGE_PANELS_JS = js`
const DIMENSION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** from, to, tz (and the subject on a subject's page) of every report read. */
function reportParams() {
  const bounds = currentBounds();
  const params = { from: bounds.from.toISOString(), to: bounds.to.toISOString(), tz: timeZone };
  const subject = currentSubject();
  if (subject) params.subjectId = subject;
  return params;
}

const meterOf = (key) => state.meters.find((m) => m.key === key);
const unitOf = (key) => (meterOf(key) || {}).unit || "";
const compareParam = () => (state.compare ? "previous" : "");
/** Whether the rows carry the previous period; a server without compare=previous answers none. */
function compared(rows) {
  const shown = state.compare && rows.some((r) => r.previousTotal !== undefined && r.previousTotal !== null);
  $("#compare-note").hidden = !state.compare || shown || !rows.length;
  return shown;
}

/** Previous and change columns, when the rows carry previousTotal. */
function comparisonColumns(unit) {
  return [
    { key: "previousTotal", label: "Previous", numeric: true, unit },
    {
      key: "change",
      label: "Change",
      numeric: true,
      unit,
      value: (r) => (r.previousTotal === undefined || r.previousTotal === null ? null : round4(r.total - r.previousTotal)),
      text: (r) => changeText(r.total, r.previousTotal, unit),
    },
  ];
}

async function loadTotals(current) {
  const body = await summary(Object.assign(reportParams(), { groupBy: "meter", compare: compareParam() }));
  if (!current()) return;
  const rows = new Map(body.data.map((r) => [r.meter, r]));
  const showPrevious = compared(body.data);
  const list = $("#totals");
  list.replaceChildren();
  const meters = state.meters.filter((m) => !m.archivedAt || rows.has(m.key));
  for (const row of body.data) if (!meterOf(row.meter)) meters.push({ key: row.meter, unit: "", kind: "counter" });
  for (const meter of meters) {
    const row = rows.get(meter.key) || { total: 0, count: 0, subjects: 0 };
    const card = el("button", { type: "button", class: "total", "data-meter": meter.key, "aria-pressed": String(meter.key === state.meter) }, [
      el("span", { class: "name", text: meter.key }),
      el("span", { class: "desc", text: (meter.description || "") + (meter.kind === "gauge" ? " · net change" : "") + (meter.archivedAt ? " · archived" : "") }),
      el("span", { class: "figure", "data-total": row.total, text: withUnit(row.total, meter.unit) }),
      el("span", {
        class: "sub",
        text: withUnit(row.count, "event") + (currentSubject() ? "" : " · " + withUnit(row.subjects || 0, "subject")),
      }),
      showPrevious && row.previousTotal !== undefined
        ? el("span", { class: "change", text: changeText(row.total, row.previousTotal, meter.unit) + " vs previous period" })
        : null,
    ]);
    card.addEventListener("click", () => chooseMeter(meter.key));
    list.appendChild(el("li", {}, [card]));
  }
  if (!state.meter || !meters.some((m) => m.key === state.meter)) {
    const busiest = body.data.slice().sort((a, b) => b.count - a.count)[0];
    state.meter = busiest ? busiest.meter : (meters[0] || {}).key || "";
    fillMeterSelect();
  }
}

async function loadTrend(current) {
  const meter = state.meter;
  const box = $("#chart");
  if (!meter) {
    box.replaceChildren();
    $("#chart-caption").textContent = "No meter to show.";
    return;
  }
  const bounds = currentBounds();
  const wanted = state.bucket === "auto" ? autoBucket(bounds) : state.bucket;
  const body = await summary(Object.assign(reportParams(), { bucket: wanted, meter, compare: compareParam() }));
  if (!current()) return;
  const bucket = body.bucket;
  const unit = unitOf(meter);
  const rows = new Map(body.data.map((r) => [r[bucket], r]));
  const showPrevious = compared(body.data);
  const labels = chartLabels(bucketLabels(bounds.from, bounds.to, bucket), body.data.map((r) => r[bucket]), bucket);
  const points = labels.map((label) => {
    const row = rows.get(label);
    return { label, value: row ? row.total : 0, previous: showPrevious ? (row && row.previousTotal) || 0 : undefined };
  });
  drawBarChart(box, points, { bucket, unit });
  const total = round4(points.reduce((s, p) => s + p.value, 0));
  const peak = points.reduce((best, p) => (p.value > best.value ? p : best), { value: 0, label: "" });
  box.setAttribute("role", "img");
  box.setAttribute("data-total", String(total));
  box.setAttribute("data-bucket", bucket);
  box.setAttribute("data-points", String(points.length));
  const coarser = bucket !== wanted ? " (this server has no " + wanted + " buckets yet)" : "";
  const caption =
    meter + " per " + bucket + coarser + ", " + rangeLabel(bounds) + ": " + withUnit(total, unit) + " in total" +
    (peak.value > 0 ? ", peak " + withUnit(peak.value, unit) + " (" + shortBucketLabel(peak.label, bucket) + ")" : "") +
    (showPrevious ? "; previous period " + withUnit(round4(points.reduce((s, p) => s + p.previous, 0)), unit) + " (pale bars)." : ".");
  box.setAttribute("aria-label", caption);
  $("#chart-caption").textContent = caption;
}

/**
 * The bars: every bucket of the range, with the server's labels where this page cannot foresee
 * them. A repeated hour (clocks going back) is two buckets, each labelled with its UTC offset
 * (earlier one first: the larger offset); they stand in for the plain label. Any other label this
 * page does not know: the server's rows as they come.
 */
function chartLabels(expected, answered, bucket) {
  const unknown = answered.filter((label) => !expected.includes(label));
  if (!unknown.length) return expected;
  const offset = (label) => {
    const m = /([+-])(\d{2}):(\d{2})$/.exec(label);
    return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  };
  if (bucket !== "hour" || !unknown.every((label) => HOUR_WITH_OFFSET.test(label))) return answered;
  return expected.flatMap((label) => {
    const twins = unknown.filter((u) => u.slice(0, 16) === label);
    return twins.length ? twins.sort((a, b) => offset(b) - offset(a)) : [label];
  });
}
const HOUR_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:00[+-]\d{2}:\d{2}$/;

/** Dimension names in the range's recent events, offered in the breakdown's list; a guess when none is chosen. */
async function discoverDimensions(current) {
  const body = await api("/v1/usage" + query(Object.assign(reportParams(), { tz: "", meter: state.meter, limit: 200 }))).catch((e) => {
    if (e.status === 401) throw e;
    return { data: [] };
  });
  if (!current()) return [];
  const names = new Set();
  for (const event of body.data) for (const name of Object.keys(event.dimensions || {})) names.add(name);
  const sorted = Array.from(names).sort();
  $("#dimension-names").replaceChildren(...sorted.map((n) => el("option", { value: n })));
  return sorted;
}

async function loadBreakdown(current) {
  const names = await discoverDimensions(current);
  if (!current()) return;
  // A dimension the page picked (not one typed) follows the meter: one its events have.
  if ((!state.dimension || (state.dimensionPicked && !names.includes(state.dimension))) && names.length) {
    state.dimension = names.includes("schoolId") ? "schoolId" : names[0];
    state.dimensionPicked = true;
    $("#dimension").value = state.dimension;
  }
  const dimension = state.dimension;
  const table = $("#breakdown");
  const meter = state.meter;
  const unit = unitOf(meter);
  $("#breakdown-csv").disabled = true;
  if (!dimension || !DIMENSION_NAME.test(dimension)) {
    renderTable(table, [{ key: "value", label: "Value" }], [], {
      empty: dimension ? "'" + dimension + "' is not a dimension name (letters, digits and _)." : "Pick or type a dimension name.",
    });
    return;
  }
  const key = "dimension." + dimension;
  const body = await summary(Object.assign(reportParams(), { groupBy: key, meter, compare: compareParam() }));
  if (!current()) return;
  const sum = body.data.reduce((s, r) => s + r.total, 0) || 1;
  const rows = body.data.map((r) => Object.assign({}, r, { value: r[key], share: Math.round((r.total / sum) * 1000) / 10 }));
  const columns = [
    { key: "value", label: dimension, text: (r) => (r.value === null ? "(none)" : r.value), value: (r) => r.value },
    { key: "total", label: "Total", numeric: true, unit },
    { key: "count", label: "Events", numeric: true, unit: "event" },
  ]
    .concat(compared(body.data) ? comparisonColumns(unit) : [])
    .concat([
      {
        key: "share",
        label: "Share",
        numeric: true,
        unit: "%",
        node: (r) => el("span", { class: "share" }, [el("span", { class: "share-bar", width: r.share + "%" }), el("span", { text: fmt(r.share) + " %" })]),
      },
    ]);
  renderTable(table, columns, rows, { sort: { key: "total", dir: "desc" }, empty: "No usage with this dimension in the range." });
  table.setAttribute("data-dimension", dimension);
  $("#breakdown-csv").disabled = false;
}

function rangeFileName(prefix) {
  const bounds = currentBounds();
  return prefix + "-" + dateInput(bounds.from) + "-to-" + dateInput(new Date(bounds.to.getTime() - 1)) + ".csv";
}

function downloadBreakdownCsv() {
  const csv = tableCsv($("#breakdown"));
  saveBlob(new Blob([csv], { type: "text/csv;charset=utf-8" }), rangeFileName("tally-" + (state.meter || "usage") + "-by-" + state.dimension));
}

async function downloadFullExport() {
  const status = $("#export-status");
  const name = rangeFileName("tally-events-" + (state.meter || "all"));
  status.textContent = "Preparing the export…";
  const params = Object.assign(reportParams(), { tz: "", meter: state.meter, dimensions: DIMENSION_NAME.test(state.dimension) ? state.dimension : "" });
  try {
    await download("/v1/usage/export.csv" + query(params), name);
    status.textContent = "Saved " + name + ".";
  } catch (error) {
    status.textContent = "Export failed: " + error.message;
  }
}
`;
