import type { SummaryRow } from "./history-queries";
import type { SummaryQuery } from "./summary-plan";
import { isBucketUnit } from "./time-buckets";

export const SUMMARY_COMPARISONS = ["previous"] as const;
export const SUMMARY_SORTS = ["total", "-total"] as const;

/** How a summary's rows are compared, ordered and cut (GET /v1/usage/summary's `compare`, `sort`, `limit`). */
export interface SummaryOptions {
  compare?: (typeof SUMMARY_COMPARISONS)[number];
  /** By total, ascending or (`-total`) descending; ties in group-key order. */
  sort?: (typeof SUMMARY_SORTS)[number];
  limit?: number;
}

export interface ReportRow extends SummaryRow {
  /** The group's total over the previous range, with `compare=previous`. */
  previousTotalE4?: number;
}

/**
 * The same summary over the range one range-length before [from, to): each time bucket's part of
 * the range moved back by that length, keeping its label, so the two answers pair up by group keys.
 */
export function previousRange(query: SummaryQuery): SummaryQuery {
  const { from, to } = query;
  if (from === undefined || to === undefined) throw new Error("compare=previous needs a bounded range");
  const length = to - from;
  return {
    ...query,
    from: from - length,
    to: from,
    buckets:
      query.buckets?.map((b) => ({ label: b.label, start: Math.max(b.start, from) - length, end: Math.min(b.end, to) - length })) ?? null,
  };
}

/** Each row with its group's previous total (0 when it had none); groups only the previous range has come too, with nothing counted now. */
export function withPrevious(query: SummaryQuery, current: SummaryRow[], previous: SummaryRow[]): ReportRow[] {
  const id = (row: SummaryRow) => JSON.stringify(query.groupBy.map((key) => row.keys[key] ?? null));
  const before = new Map(previous.map((row) => [id(row), row.totalE4]));
  const rows: ReportRow[] = current.map((row) => ({ ...row, previousTotalE4: before.get(id(row)) ?? 0 }));
  const now = new Set(current.map(id));
  for (const row of previous) {
    if (now.has(id(row))) continue;
    rows.push({
      keys: row.keys,
      totalE4: 0,
      count: 0,
      subjects: 0,
      ...(query.distinct === undefined ? {} : { distinct: 0 }),
      previousTotalE4: row.totalE4,
    });
  }
  return rows;
}

/**
 * Rows in group-key order — keys in `groupBy` order, time buckets chronologically, other keys by
 * code point with missing values first, the same whichever store or plan answered — or by total
 * with ties in that order; then the first `limit`.
 */
export function orderRows<Row extends SummaryRow>(query: SummaryQuery, rows: Row[], options: SummaryOptions): Row[] {
  const position = new Map((query.buckets ?? []).map((b, i) => [b.label, i]));
  const byKeys = (a: Row, b: Row) => {
    for (const key of query.groupBy) {
      const [x, y] = [a.keys[key] ?? null, b.keys[key] ?? null];
      const order = isBucketUnit(key) ? (position.get(x ?? "") ?? -1) - (position.get(y ?? "") ?? -1) : compareText(x, y);
      if (order !== 0) return order;
    }
    return 0;
  };
  const byTotal = (a: Row, b: Row) =>
    options.sort === "total" ? a.totalE4 - b.totalE4 : options.sort === "-total" ? b.totalE4 - a.totalE4 : 0;
  const ordered = [...rows].sort((a, b) => byTotal(a, b) || byKeys(a, b));
  return options.limit === undefined ? ordered : ordered.slice(0, options.limit);
}

/** Missing first, then by code point (UTF-8 byte order, as PostgreSQL's "C" collation and SQLite compare). */
export function compareText(a: string | null, b: string | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point order only where a surrogate meets U+E000-U+FFFF.
    const [sx, sy] = [x >= 0xd800 && x <= 0xdfff, y >= 0xd800 && y <= 0xdfff];
    return sx === sy ? x - y : sx ? 1 : -1;
  }
  return a.length - b.length;
}
