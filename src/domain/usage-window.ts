import { periodContaining, type PeriodKind } from "./periods";

export const DAY_MS = 86_400_000;

/**
 * The span a meter's usage is counted over at some moment: a bounded period `[start, end)` in
 * UTC ms, or all time (`period: "none"`), which has no bounds at all — so no code can format
 * a sentinel date for it.
 */
export type UsageWindow = { kind: "bounded"; start: number; end: number } | { kind: "all-time"; start: null; end: null };

export const ALL_TIME: UsageWindow = { kind: "all-time", start: null, end: null };

/** A closed period's bounds, as the ledger keeps them. */
export interface ClosedSpan {
  start: number;
  end: number;
}

/**
 * The window an instant belongs to, for a meter configured with `kind` and `anchorDay`.
 *
 * Periods come from the configuration as it is now; usage is never re-keyed by it. Periods that
 * were closed (by the rollover) stay as they were closed, so every instant belongs to exactly one
 * period row: an instant inside a closed period belongs to it; otherwise to the configured period
 * around it, cut short where it would overlap a closed one (`closedBefore` ends at or before the
 * instant, `closedAfter` starts after it). All-time meters ignore closed periods: their window is
 * all time.
 */
export function windowAt(
  atMs: number,
  kind: PeriodKind,
  anchorDay: number | null,
  closed: { containing: ClosedSpan | null; closedBefore: number | null; closedAfter: number | null },
): UsageWindow {
  if (kind === "none") return ALL_TIME;
  if (closed.containing) return { kind: "bounded", start: closed.containing.start, end: closed.containing.end };
  const period = periodContaining(atMs, kind, anchorDay ?? 1);
  return {
    kind: "bounded",
    start: closed.closedBefore === null ? period.start : Math.max(period.start, closed.closedBefore),
    end: closed.closedAfter === null ? period.end : Math.min(period.end, closed.closedAfter),
  };
}

/** The UTC day number of an instant: usage is kept per meter and day. */
export function dayOf(atMs: number): number {
  return Math.floor(atMs / DAY_MS);
}

/** Days `[from, to)` a window covers; all time is every day. */
export function daysOf(window: UsageWindow): { from: number | null; to: number | null } {
  if (window.kind === "all-time") return { from: null, to: null };
  return { from: Math.ceil(window.start / DAY_MS), to: Math.ceil(window.end / DAY_MS) };
}

/** ISO bounds for clients and notifications: null for all time. */
export function windowBounds(window: UsageWindow): { periodStart: string | null; periodEnd: string | null } {
  if (window.kind === "all-time") return { periodStart: null, periodEnd: null };
  return { periodStart: new Date(window.start).toISOString(), periodEnd: new Date(window.end).toISOString() };
}
