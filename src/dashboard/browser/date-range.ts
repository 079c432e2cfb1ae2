import { js } from "./js";

/**
 * Browser code, part 4: the date range (presets in the browser's time zone, or custom dates),
 * the time buckets that suit it, and the bucket labels the summary answers, so empty buckets show
 * as zero bars instead of disappearing.
 */
export const DATE_RANGE_JS = js`
const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const DAY_MS = 86400000;
const PRESETS = {
  today: "Today",
  last7: "Last 7 days",
  thisMonth: "This month",
  lastMonth: "Last month",
  last90: "Last 90 days",
  custom: "Custom",
};

const startOfDay = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());
const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
const dateInput = (d) => d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate());
function parseDateInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

/**
 * [from, to) of a range, whole local days. A preset runs to the end of today (this month: to the
 * end of the month), so "compare with the previous period" compares like with like.
 */
function rangeBounds(range, now) {
  const today = startOfDay(now);
  switch (range.preset) {
    case "today":
      return { from: today, to: addDays(today, 1) };
    case "thisMonth":
      return { from: new Date(today.getFullYear(), today.getMonth(), 1), to: new Date(today.getFullYear(), today.getMonth() + 1, 1) };
    case "lastMonth":
      return { from: new Date(today.getFullYear(), today.getMonth() - 1, 1), to: new Date(today.getFullYear(), today.getMonth(), 1) };
    case "last90":
      return { from: addDays(today, -89), to: addDays(today, 1) };
    case "custom": {
      const from = parseDateInput(range.from);
      const to = parseDateInput(range.to);
      if (from && to && from <= to) return { from, to: addDays(to, 1) };
      return { from: addDays(today, -6), to: addDays(today, 1), invalid: true };
    }
    default:
      return { from: addDays(today, -6), to: addDays(today, 1) };
  }
}

const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
function rangeLabel(bounds) {
  const last = new Date(bounds.to.getTime() - 1);
  const from = dayFormat.format(bounds.from);
  const to = dayFormat.format(last);
  return (from === to ? from : from + " – " + to) + " (" + timeZone + ")";
}

/** The bucket a range reads best in: hours for a day or two, days up to two months, then weeks, then months. */
function autoBucket(bounds) {
  const days = (bounds.to - bounds.from) / DAY_MS;
  if (days <= 2) return "hour";
  if (days <= 62) return "day";
  if (days <= 190) return "week";
  return "month";
}

const partsFormat = new Intl.DateTimeFormat("en-CA", {
  timeZone: timeZone,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  hourCycle: "h23",
});
function zonedParts(ms) {
  const parts = {};
  for (const p of partsFormat.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return parts;
}

/** The label the summary gives the bucket holding a local day "YYYY-MM-DD" (weeks from Monday). */
function bucketOfDay(day, bucket) {
  const [y, m, d] = day.split("-").map(Number);
  if (bucket === "month") return day.slice(0, 8) + "01";
  if (bucket === "quarter") return day.slice(0, 5) + pad2(Math.floor((m - 1) / 3) * 3 + 1) + "-01";
  if (bucket === "week") {
    const date = new Date(Date.UTC(y, m - 1, d));
    date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
    return date.toISOString().slice(0, 10);
  }
  return day;
}

/** Every bucket label between from and to, in order. */
function bucketLabels(from, to, bucket) {
  const labels = [];
  const seen = new Set();
  const step = bucket === "hour" ? 15 * 60000 : 3600000;
  for (let t = from.getTime(), i = 0; t < to.getTime() && i < 20000; t += step, i++) {
    const p = zonedParts(t);
    const day = p.year + "-" + p.month + "-" + p.day;
    const label = bucket === "hour" ? day + "T" + p.hour + ":00" : bucketOfDay(day, bucket);
    if (!seen.has(label)) {
      seen.add(label);
      labels.push(label);
    }
  }
  return labels;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** A bucket label short enough for an axis: "14:00", "3 Dec", "Dec 2026", "Q4 2026". */
function shortBucketLabel(label, bucket) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):00([+-]\d{2}:\d{2})?)?$/.exec(label);
  if (!m) return label;
  const month = MONTHS[Number(m[2]) - 1];
  if (bucket === "hour") return m[4] === "00" && !m[5] ? Number(m[3]) + " " + month : m[4] + ":00" + (m[5] ? " " + m[5] : "");
  if (bucket === "month") return month + " " + m[1].slice(2);
  if (bucket === "quarter") return "Q" + (Math.floor((Number(m[2]) - 1) / 3) + 1) + " " + m[1].slice(2);
  return Number(m[3]) + " " + month;
}
`;
