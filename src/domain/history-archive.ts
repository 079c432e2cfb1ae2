import type { HistoryCursor, HistoryFilter } from "./history-queries";
import type { StoredEvent } from "./stored-event";
import { DAY_MS } from "./summary-plan";

/** Days of raw history kept in D1 when HISTORY_HOT_DAYS is unset or refused. */
export const DEFAULT_HOT_DAYS = 90;
/**
 * The shortest hot window: an event may arrive up to 35 days after its `occurred_at`
 * (MAX_EVENT_AGE_MS), then sits in its ledger's outbox until the next flush; 40 days leaves five
 * for that lag, so no day is archived while it can still receive events.
 */
export const MIN_HOT_DAYS = 40;
const MAX_HOT_DAYS = 36_500;
/**
 * A day is archived only once its newest counter event was received this long ago: a replay of
 * an idempotent request reads its event back from D1 by id (the ledger keeps the key 40 days
 * after receipt, and up to a day longer: IDEMPOTENCY_RETENTION_MS in src/ledger), and a late
 * event can be received up to 35 days after its day.
 */
export const REPLAY_WINDOW_MS = 42 * DAY_MS;

export type ArchiveState = "writing" | "verified" | "deleted";

/**
 * The hot window from HISTORY_HOT_DAYS: a whole number of days, at least MIN_HOT_DAYS. Anything
 * else falls back to the default, which keeps more history in D1 (never less than asked for a
 * valid value), and `refused` says so for the job's log line.
 */
export function hotDays(raw: string | undefined): { days: number; refused?: string } {
  if (raw === undefined || raw.trim() === "") return { days: DEFAULT_HOT_DAYS };
  const value = raw.trim();
  if (!/^\d+$/.test(value)) return { days: DEFAULT_HOT_DAYS, refused: value };
  const days = Number(value);
  if (days < MIN_HOT_DAYS || days > MAX_HOT_DAYS) return { days: DEFAULT_HOT_DAYS, refused: value };
  return { days };
}

/** The UTC day number of an instant (days since the epoch), as the rollups count them. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Days before this one are wholly older than the hot window at `asOf`, and may be archived. */
export function firstHotDay(asOf: number, hot: number): number {
  return utcDay(asOf) - hot;
}

/**
 * The R2 key prefix of one attempt at a day's archive. Each attempt writes its own objects and the
 * manifest names the one that serves, so a second writer of the same day (a repeated cron, a
 * redelivered task) can never overwrite a verified archive with rows that are being deleted.
 */
export function archivePrefix(day: number, attempt: string): string {
  return `archive/v1/day=${new Date(day * DAY_MS).toISOString().slice(0, 10)}/${attempt}/`;
}

/** Part `index` of an attempt; zero-padded so that key order is history order. */
export function archivePartKey(prefix: string, index: number): string {
  return `${prefix}part-${String(index).padStart(5, "0")}.ndjson.gz`;
}

/** One object of a day's archive: a run of its events in history order, and where the run starts and ends. */
export interface ArchivePart {
  key: string;
  events: number;
  first: HistoryCursor;
  last: HistoryCursor;
}

/** Whether a part can hold events of [from, to) (epoch ms). */
export function partOverlaps(part: ArchivePart, from: number, to: number): boolean {
  return part.last.occurredAt >= from && part.first.occurredAt < to;
}

/** Whether a part can hold events after the cursor in the listing's order. */
export function partAfter(part: ArchivePart, cursor: HistoryCursor | undefined, order: "newest" | "oldest"): boolean {
  if (cursor === undefined) return true;
  return order === "newest" ? compareEvents(part.first, cursor) < 0 : compareEvents(part.last, cursor) > 0;
}

/** Per meter: every archived event, the ones not voided, and their net amount (what the rollups hold). */
export type DayChecksum = Record<string, { events: number; standing: number; netE4: number }>;

/** An event's contribution to the rollups: removals subtract, sets add nothing (migrations/0006). */
export function netE4(event: Pick<StoredEvent, "operation" | "amountE4">): number {
  return event.operation === "remove" ? -event.amountE4 : event.operation === "set" ? 0 : event.amountE4;
}

export function addToChecksum(sum: DayChecksum, event: StoredEvent): void {
  const meter = sum[event.meter] ?? { events: 0, standing: 0, netE4: 0 };
  meter.events += 1;
  if (event.voidedAt == null) {
    meter.standing += 1;
    meter.netE4 += netE4(event);
  }
  sum[event.meter] = meter;
}

/** The meters whose counts differ between two checksums, each with both sides; empty when equal. */
export function checksumDifferences(a: DayChecksum, b: DayChecksum, fields: ("events" | "standing" | "netE4")[]): string[] {
  const meters = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return meters
    .filter((m) => fields.some((f) => (a[m]?.[f] ?? 0) !== (b[m]?.[f] ?? 0)))
    .map((m) => `${m}: ${JSON.stringify(a[m] ?? null)} ≠ ${JSON.stringify(b[m] ?? null)}`);
}

/**
 * SQLite's order of TEXT (BINARY collation: UTF-8 bytes), which is code point order; JavaScript's
 * `<` compares UTF-16 units and differs above U+FFFF.
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** History's order, oldest first: by time, then id. */
export function compareEvents(a: HistoryCursor, b: HistoryCursor): number {
  return a.occurredAt - b.occurredAt || compareText(a.id, b.id);
}

/** Whether an archived event answers a history query, as src/db/usage-events.ts historyConditions says it in SQL. */
export function matchesFilter(event: StoredEvent, filter: HistoryFilter): boolean {
  if (filter.includeVoided !== true && event.voidedAt != null) return false;
  if (filter.subjectId !== undefined && event.subjectId !== filter.subjectId) return false;
  if (filter.meter !== undefined && event.meter !== filter.meter) return false;
  if (filter.from !== undefined && event.occurredAt < filter.from) return false;
  if (filter.to !== undefined && event.occurredAt >= filter.to) return false;
  for (const [name, value] of Object.entries(filter.dimensions ?? {})) {
    if (!Object.hasOwn(event.dimensions, name) || event.dimensions[name] !== value) return false;
  }
  return true;
}

/**
 * One page of history from two sorted sources (D1's hot rows and the archive's), each already cut
 * after the cursor and holding at least `limit` events or all there are: an event found in both
 * (a day whose raw rows are still being deleted) is listed once.
 */
export function mergePages(a: StoredEvent[], b: StoredEvent[], limit: number, order: "newest" | "oldest"): StoredEvent[] {
  const sign = order === "newest" ? -1 : 1;
  const seen = new Set<string>();
  const merged: StoredEvent[] = [];
  for (const e of [...a, ...b].sort((x, y) => sign * compareEvents(x, y))) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    merged.push(e);
    if (merged.length === limit) break;
  }
  return merged;
}

/** Whether an event comes after the cursor in the listing's order. */
export function isAfter(event: HistoryCursor, cursor: HistoryCursor | undefined, order: "newest" | "oldest"): boolean {
  if (cursor === undefined) return true;
  const c = compareEvents(event, cursor);
  return order === "newest" ? c < 0 : c > 0;
}
