export type BucketUnit = "hour" | "day" | "week" | "month" | "quarter";

export const BUCKET_UNITS: readonly BucketUnit[] = ["hour", "day", "week", "month", "quarter"];

export function isBucketUnit(key: string): key is BucketUnit {
  return (BUCKET_UNITS as readonly string[]).includes(key);
}

/**
 * A time bucket: [start, end) in epoch ms, labelled with its first local date (YYYY-MM-DD), or for
 * hours its local hour (YYYY-MM-DDTHH:00, see hourBuckets).
 */
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
      era: "short",
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
    // Years before 1 CE are written as BC years (1 BC is year 0).
    y: parts.era === "BC" ? 1 - Number(parts.year) : Number(parts.year),
    m: Number(parts.month),
    d: Number(parts.day),
    h: Number(parts.hour),
    min: Number(parts.minute),
    s: Number(parts.second),
  };
}

/** Epoch ms of a UTC calendar time; unlike Date.UTC, which takes years 0-99 for 1900-1999, any year. */
function utcMs(y: number, m: number, d: number, h = 0, min = 0, s = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  date.setUTCHours(h, min, s, 0);
  return date.getTime();
}

/** How far the zone's wall clock is ahead of UTC at that instant, in ms. */
function offsetAt(atMs: number, timeZone: string): number {
  const p = localParts(atMs, timeZone);
  return utcMs(p.y, p.m, p.d, p.h, p.min, p.s) - Math.floor(atMs / 1000) * 1000;
}

/** The instant local midnight of y-m-d begins in the zone (the first instant of that date). */
export function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  const wall = utcMs(y, m, d);
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  // Where midnight does not exist (a DST jump at 00:00), the day starts at the first instant after the gap.
  const p = localParts(guess, timeZone);
  if (utcMs(p.y, p.m, p.d) < wall) guess += 60 * 60 * 1000 - (p.min * 60_000 + p.s * 1000);
  return guess;
}

/** YYYY-MM-DD (ISO 8601's six-digit signed years outside 0000-9999). */
function label(y: number, m: number, d: number): string {
  const year = y >= 0 && y <= 9999 ? String(y).padStart(4, "0") : `${y < 0 ? "-" : "+"}${String(Math.abs(y)).padStart(6, "0")}`;
  return `${year}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** The UTC calendar date of an instant (here, of a wall-clock time written as if it were UTC). */
function utcDate(ms: number): { y: number; m: number; d: number } {
  const date = new Date(ms);
  return { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate() };
}

type DateUnit = Exclude<BucketUnit, "hour">;

/** The local date a bucket containing `atMs` starts on: the day, the Monday of its ISO week, the 1st of its month or quarter. */
function bucketStartDate(atMs: number, unit: DateUnit, timeZone: string): { y: number; m: number; d: number } {
  const p = localParts(atMs, timeZone);
  if (unit === "month") return { y: p.y, m: p.m, d: 1 };
  if (unit === "quarter") return { y: p.y, m: p.m - ((p.m - 1) % 3), d: 1 };
  if (unit === "day") return { y: p.y, m: p.m, d: p.d };
  const weekday = (new Date(utcMs(p.y, p.m, p.d)).getUTCDay() + 6) % 7; // Monday = 0
  return utcDate(utcMs(p.y, p.m, p.d - weekday));
}

function addUnit(date: { y: number; m: number; d: number }, unit: DateUnit) {
  const months = unit === "month" ? 1 : unit === "quarter" ? 3 : 0;
  return utcDate(utcMs(date.y, date.m + months, date.d + (unit === "day" ? 1 : unit === "week" ? 7 : 0)));
}

/** The buckets covering [fromMs, toMs) in the zone, in order; at most `max` of them, else null. */
export function bucketsBetween(fromMs: number, toMs: number, unit: BucketUnit, timeZone: string, max = 1000): Bucket[] | null {
  if (unit === "hour") return hourBuckets(fromMs, toMs, timeZone, max);
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

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** A run of instants [start, end) over which a zone's UTC offset holds. */
interface OffsetSegment {
  start: number;
  end: number;
  offsetMs: number;
}

/**
 * The zone's UTC offsets over [fromMs, toMs), as segments split at each change (DST). Offsets are
 * sampled daily, and each change is pinned to the millisecond by bisection (offsets are read to
 * the second, so it lands on the change's first second); zones never change twice within a day.
 */
function offsetSegments(fromMs: number, toMs: number, timeZone: string): OffsetSegment[] {
  const segments: OffsetSegment[] = [];
  let start = fromMs;
  let current = offsetAt(fromMs, timeZone);
  for (let t = fromMs; t < toMs; t += DAY_MS) {
    const next = Math.min(t + DAY_MS, toMs - 1);
    if (next <= t || offsetAt(next, timeZone) === current) continue;
    let lo = t;
    let hi = next;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(mid, timeZone) === current) lo = mid;
      else hi = mid;
    }
    segments.push({ start, end: hi, offsetMs: current });
    start = hi;
    current = offsetAt(hi, timeZone);
  }
  segments.push({ start, end: toMs, offsetMs: current });
  return segments;
}

/**
 * Hour buckets: the instants whose wall clock in the zone reads the same hour under the same UTC
 * offset. Labelled `YYYY-MM-DDTHH:00`; where the clocks go back and a wall-clock hour happens twice
 * (a 25-hour day), each of its buckets carries its offset too (`2026-11-01T01:00-04:00`, then
 * `2026-11-01T01:00-05:00`), so labels stay unique; an hour the clocks skip (a 23-hour day) has no
 * bucket. Whether an hour repeats is read from the offsets two days either side of the range, so a
 * label does not depend on where the range is cut. A bucket is at most an hour long.
 */
function hourBuckets(fromMs: number, toMs: number, timeZone: string, max: number): Bucket[] | null {
  if (toMs - fromMs > max * HOUR_MS) return null;
  if (toMs <= fromMs) return [];
  const pad = 2 * DAY_MS;
  const candidates: { start: number; end: number; wall: number; offsetMs: number }[] = [];
  for (const { start, end, offsetMs } of offsetSegments(fromMs - pad, toMs + pad, timeZone)) {
    for (let wall = Math.floor((start + offsetMs) / HOUR_MS) * HOUR_MS; wall - offsetMs < end; wall += HOUR_MS) {
      candidates.push({ start: Math.max(wall - offsetMs, start), end: Math.min(wall + HOUR_MS - offsetMs, end), wall, offsetMs });
    }
  }
  const seen = new Map<number, number>();
  for (const c of candidates) seen.set(c.wall, (seen.get(c.wall) ?? 0) + 1);
  const buckets = candidates
    .filter((c) => c.end > fromMs && c.start < toMs)
    .map((c) => ({
      start: c.start,
      end: c.end,
      label: `${hourLabel(c.wall)}${seen.get(c.wall)! > 1 ? offsetLabel(c.offsetMs) : ""}`,
    }));
  return buckets.length > max ? null : buckets;
}

/** YYYY-MM-DDTHH:00 of a wall-clock hour written as if it were UTC. */
function hourLabel(wall: number): string {
  const { y, m, d } = utcDate(wall);
  return `${label(y, m, d)}T${String(new Date(wall).getUTCHours()).padStart(2, "0")}:00`;
}

/** A UTC offset as ISO 8601 writes it: `+05:30`, `-04:00` (with seconds where a zone's old local mean time had them). */
function offsetLabel(offsetMs: number): string {
  const abs = Math.abs(offsetMs) / 1000;
  const two = (n: number) => String(Math.floor(n)).padStart(2, "0");
  const seconds = abs % 60 === 0 ? "" : `:${two(abs % 60)}`;
  return `${offsetMs < 0 ? "-" : "+"}${two(abs / 3600)}:${two((abs % 3600) / 60)}${seconds}`;
}
