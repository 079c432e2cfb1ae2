export type BucketUnit = "day" | "week" | "month";

/** A time bucket: [start, end) in epoch ms, labelled with its first local date (YYYY-MM-DD). */
export interface Bucket {
  start: number;
  end: number;
  label: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(value: string): boolean {
  try {
    formatter(value);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of an instant in a time zone. */
function localParts(atMs: number, timeZone: string) {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(atMs)
      .map((p) => [p.type, p.value]),
  );
  return {
    y: Number(parts.year),
    m: Number(parts.month),
    d: Number(parts.day),
    h: Number(parts.hour),
    min: Number(parts.minute),
    s: Number(parts.second),
  };
}

/** How far the zone's wall clock is ahead of UTC at that instant, in ms. */
function offsetAt(atMs: number, timeZone: string): number {
  const p = localParts(atMs, timeZone);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s) - Math.floor(atMs / 1000) * 1000;
}

/** The instant local midnight of y-m-d begins in the zone (the first instant of that date). */
export function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d);
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  // Where midnight does not exist (a DST jump at 00:00), the day starts at the first instant after the gap.
  const p = localParts(guess, timeZone);
  if (Date.UTC(p.y, p.m - 1, p.d) < wall) guess += 60 * 60 * 1000 - (p.min * 60_000 + p.s * 1000);
  return guess;
}

function label(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** The local date a bucket containing `atMs` starts on: the day, the Monday of its ISO week, or the 1st. */
function bucketStartDate(atMs: number, unit: BucketUnit, timeZone: string): { y: number; m: number; d: number } {
  const p = localParts(atMs, timeZone);
  if (unit === "month") return { y: p.y, m: p.m, d: 1 };
  if (unit === "day") return { y: p.y, m: p.m, d: p.d };
  const weekday = (new Date(Date.UTC(p.y, p.m - 1, p.d)).getUTCDay() + 6) % 7; // Monday = 0
  const monday = new Date(Date.UTC(p.y, p.m - 1, p.d - weekday));
  return { y: monday.getUTCFullYear(), m: monday.getUTCMonth() + 1, d: monday.getUTCDate() };
}

function addUnit(date: { y: number; m: number; d: number }, unit: BucketUnit) {
  const next = new Date(Date.UTC(date.y, date.m - 1 + (unit === "month" ? 1 : 0), date.d + (unit === "day" ? 1 : unit === "week" ? 7 : 0)));
  return { y: next.getUTCFullYear(), m: next.getUTCMonth() + 1, d: next.getUTCDate() };
}

/** The buckets covering [fromMs, toMs) in the zone, in order; at most `max` of them, else null. */
export function bucketsBetween(fromMs: number, toMs: number, unit: BucketUnit, timeZone: string, max = 1000): Bucket[] | null {
  const buckets: Bucket[] = [];
  let date = bucketStartDate(fromMs, unit, timeZone);
  let start = localMidnight(date.y, date.m, date.d, timeZone);
  while (start < toMs) {
    if (buckets.length === max) return null;
    const next = addUnit(date, unit);
    const end = localMidnight(next.y, next.m, next.d, timeZone);
    buckets.push({ start, end, label: label(date.y, date.m, date.d) });
    date = next;
    start = end;
  }
  return buckets;
}

/** Where a zone's UTC offset holds: `offsetMs` applies to instants before `untilMs` (the last segment has no end). */
export interface OffsetSegment {
  untilMs: number | null;
  offsetMs: number;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * The zone's UTC offsets over [fromMs, toMs), as segments split at each change (DST). Offsets are
 * sampled daily, and each change is pinned to the minute by bisection; zones never change twice
 * within a day.
 */
export function offsetSegments(fromMs: number, toMs: number, timeZone: string): OffsetSegment[] {
  const segments: OffsetSegment[] = [];
  let current = offsetAt(fromMs, timeZone);
  for (let t = fromMs; t < toMs; t += 24 * HOUR_MS) {
    const next = Math.min(t + 24 * HOUR_MS, toMs);
    const offset = offsetAt(next, timeZone);
    if (offset === current) continue;
    let lo = t;
    let hi = next;
    while (hi - lo > 60_000) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(mid, timeZone) === current) lo = mid;
      else hi = mid;
    }
    segments.push({ untilMs: hi - (hi % 60_000), offsetMs: current });
    current = offset;
  }
  segments.push({ untilMs: null, offsetMs: current });
  return segments;
}
