import type { StoredEvent } from "../../src/domain/stored-event";

/**
 * GET /v1/usage/summary computed by brute force from the raw events, written apart from the
 * service's own bucketing, planning and ordering: local calendar fields straight from Intl, every
 * event looked at once, groups kept in a Map. The property tests (test/reports, test/history)
 * compare the API with it exactly, row order included.
 */
export interface ModelQuery {
  groupBy: string[];
  tz: string;
  from: number;
  to: number;
  subjectId?: string | undefined;
  meter?: string | undefined;
  /** `dimension.<name>=<value>` filters. */
  dimensions?: Record<string, string>;
  includeVoided?: boolean;
  /** A dimension name (`distinct=dimension.<name>`). */
  distinct?: string | undefined;
  compare?: boolean;
  sort?: "total" | "-total" | undefined;
  limit?: number | undefined;
}

export type ModelRow = Record<string, string | number | null>;

const TIME_UNITS = ["hour", "day", "week", "month", "quarter"];
const MINUTE = 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local date, hour and UTC offset (minutes) of an instant in a zone. */
function local(t: number, tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone: tz,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    });
    formatters.set(tz, f);
  }
  const parts = Object.fromEntries(f.formatToParts(t).map((p) => [p.type, p.value]));
  const zone = /GMT(?:([+-])(\d\d):(\d\d))?/.exec(parts.timeZoneName!)!;
  const offset = zone[1] === undefined ? 0 : (zone[1] === "-" ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3]));
  return { y: Number(parts.year), m: Number(parts.month), d: Number(parts.day), h: Number(parts.hour), offset };
}

const iso = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10);
const offsetText = (minutes: number) =>
  `${minutes < 0 ? "-" : "+"}${String(Math.floor(Math.abs(minutes) / 60)).padStart(2, "0")}:${String(Math.abs(minutes) % 60).padStart(2, "0")}`;

const repeats = new Map<string, boolean>();

/**
 * Whether the wall-clock hour starting at `wall` (ms, as if UTC) also happens under another offset
 * than `offset`: an instant of [wall − o, wall + 1 h − o) keeps offset o. Offsets change on
 * quarter-hours in the zones tested, so sampling each quarter of the hour decides.
 */
function hourRepeats(tz: string, wall: number, offset: number, near: number): boolean {
  const key = `${tz}|${wall}|${offset}`;
  let known = repeats.get(key);
  if (known === undefined) {
    const others = new Set<number>();
    for (let k = -12; k <= 12; k++) others.add(local(near + k * 15 * MINUTE, tz).offset);
    others.delete(offset);
    known = [...others].some((o) => [0, 1, 2, 3].some((q) => local(wall - o * MINUTE + q * 15 * MINUTE, tz).offset === o));
    repeats.set(key, known);
  }
  return known;
}

/** The label of the bucket holding instant t. */
export function bucketLabel(t: number, unit: string, tz: string): string {
  const { y, m, d, h, offset } = local(t, tz);
  if (unit === "day") return iso(y, m, d);
  if (unit === "month") return iso(y, m, 1);
  if (unit === "quarter") return iso(y, m - ((m - 1) % 3), 1);
  if (unit === "hour") {
    const label = `${iso(y, m, d)}T${String(h).padStart(2, "0")}:00`;
    return hourRepeats(tz, Date.UTC(y, m - 1, d, h), offset, t) ? `${label}${offsetText(offset)}` : label;
  }
  return iso(y, m, d - ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7));
}

/** A dimension's own value (a `__proto__` dimension is a value like any other; a missing one is null). */
export function dimensionOf(e: StoredEvent, name: string): string | null {
  return Object.hasOwn(e.dimensions, name) ? e.dimensions[name]! : null;
}

const bytes = new TextEncoder();

/** Missing first, then by UTF-8 bytes. */
function compareText(a: string | null, b: string | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const [x, y] = [bytes.encode(a), bytes.encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

interface Group {
  keys: Record<string, string | null>;
  /** An instant in the group's time bucket, for ordering buckets. */
  at: number;
  total: number;
  count: number;
  subjects: Set<string>;
  values: Set<string>;
  previous: number;
}

export function modelSummary(events: StoredEvent[], voided: ReadonlySet<string>, q: ModelQuery): ModelRow[] {
  const length = q.to - q.from;
  const groups = new Map<string, Group>();
  const add = (e: StoredEvent, at: number, now: boolean) => {
    const keys: Record<string, string | null> = {};
    for (const k of q.groupBy) {
      if (k === "meter") keys[k] = e.meter;
      else if (k === "subjectId") keys[k] = e.subjectId;
      else if (TIME_UNITS.includes(k)) keys[k] = bucketLabel(at, k, q.tz);
      else keys[k] = dimensionOf(e, k.slice("dimension.".length));
    }
    const id = JSON.stringify(q.groupBy.map((k) => keys[k]));
    let g = groups.get(id);
    if (!g) {
      g = { keys, at, total: 0, count: 0, subjects: new Set(), values: new Set(), previous: 0 };
      groups.set(id, g);
    }
    const net = e.operation === "remove" ? -e.amountE4 : e.operation === "set" ? 0 : e.amountE4;
    if (!now) {
      g.previous += net;
      return;
    }
    g.total += net;
    g.count += 1;
    g.subjects.add(e.subjectId);
    const value = q.distinct === undefined ? null : dimensionOf(e, q.distinct);
    if (value !== null) g.values.add(value);
  };
  for (const e of events) {
    if (!q.includeVoided && voided.has(e.id)) continue;
    if (q.subjectId !== undefined && e.subjectId !== q.subjectId) continue;
    if (q.meter !== undefined && e.meter !== q.meter) continue;
    if (Object.entries(q.dimensions ?? {}).some(([name, value]) => dimensionOf(e, name) !== value)) continue;
    if (e.occurredAt >= q.from && e.occurredAt < q.to) add(e, e.occurredAt, true);
    // The previous range: each event counts where it would fall moved forward one range-length.
    else if (q.compare && e.occurredAt >= q.from - length && e.occurredAt < q.from) add(e, e.occurredAt + length, false);
  }
  const byKeys = (a: Group, b: Group) => {
    for (const k of q.groupBy) {
      const order = TIME_UNITS.includes(k) ? (a.keys[k] === b.keys[k] ? 0 : a.at - b.at) : compareText(a.keys[k]!, b.keys[k]!);
      if (order !== 0) return order;
    }
    return 0;
  };
  const byTotal = (a: Group, b: Group) => (q.sort === "total" ? a.total - b.total : q.sort === "-total" ? b.total - a.total : 0);
  const ordered = [...groups.values()].sort((a, b) => byTotal(a, b) || byKeys(a, b));
  return ordered.slice(0, q.limit ?? ordered.length).map((g) => ({
    ...g.keys,
    total: g.total / 10_000,
    count: g.count,
    subjects: g.subjects.size,
    ...(q.distinct === undefined ? {} : { distinct: g.values.size }),
    ...(q.compare ? { previousTotal: g.previous / 10_000 } : {}),
  }));
}

/** The query string of a model query. */
export function summaryParams(q: ModelQuery): URLSearchParams {
  const p = new URLSearchParams({ tz: q.tz, from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() });
  if (q.groupBy.length > 0) p.set("groupBy", q.groupBy.join(","));
  if (q.subjectId !== undefined) p.set("subjectId", q.subjectId);
  if (q.meter !== undefined) p.set("meter", q.meter);
  for (const [name, value] of Object.entries(q.dimensions ?? {})) p.set(`dimension.${name}`, value);
  if (q.includeVoided) p.set("includeVoided", "true");
  if (q.distinct !== undefined) p.set("distinct", `dimension.${q.distinct}`);
  if (q.compare) p.set("compare", "previous");
  if (q.sort !== undefined) p.set("sort", q.sort);
  if (q.limit !== undefined) p.set("limit", String(q.limit));
  return p;
}
