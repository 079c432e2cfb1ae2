import type { ClosedSpan } from "../domain/usage-window";

/** A period the rollover closed, with what it held then (or since its last restatement). */
export interface ClosedPeriod {
  meter: string;
  start: number;
  end: number;
  totalE4: number;
  eventCount: number;
  limitE4: number | null;
  /** Gauges only. */
  endValueE4: number | null;
  peakE4: number | null;
  closedAt: number;
  restatedAt: number | null;
}

type ClosedPeriodRow = {
  meter: string;
  period_start: number;
  period_end: number;
  total_e4: number;
  event_count: number;
  limit_e4: number | null;
  end_value_e4: number | null;
  peak_e4: number | null;
  closed_at: number;
  restated_at: number | null;
};

const toClosed = (r: ClosedPeriodRow): ClosedPeriod => ({
  meter: r.meter,
  start: r.period_start,
  end: r.period_end,
  totalE4: r.total_e4,
  eventCount: r.event_count,
  limitE4: r.limit_e4,
  endValueE4: r.end_value_e4,
  peakE4: r.peak_e4,
  closedAt: r.closed_at,
  restatedAt: r.restated_at,
});

/** The subject's closed periods per meter: disjoint, never reopened, restated when late usage lands in them. */
export class ClosedPeriods {
  constructor(private readonly sql: SqlStorage) {}

  /** The closed period holding an instant, and the closed ones nearest before and after it. */
  around(meter: string, atMs: number): { containing: ClosedPeriod | null; closedBefore: number | null; closedAfter: number | null } {
    const next = this.sql
      .exec<ClosedPeriodRow>("SELECT * FROM closed_periods WHERE meter = ? AND period_end > ? ORDER BY period_end LIMIT 1", meter, atMs)
      .toArray()[0];
    if (next && next.period_start <= atMs) return { containing: toClosed(next), closedBefore: null, closedAfter: null };
    const before = this.sql
      .exec<{ end: number | null }>("SELECT max(period_end) AS end FROM closed_periods WHERE meter = ? AND period_end <= ?", meter, atMs)
      .one().end;
    return { containing: null, closedBefore: before, closedAfter: next?.period_start ?? null };
  }

  /** Where the latest closed period of a meter ends; null when none was closed. */
  lastEnd(meter: string): number | null {
    return this.sql.exec<{ end: number | null }>("SELECT max(period_end) AS end FROM closed_periods WHERE meter = ?", meter).one().end;
  }

  insert(p: ClosedPeriod): void {
    this.sql.exec(
      `INSERT INTO closed_periods (meter, period_start, period_end, total_e4, event_count, limit_e4, end_value_e4, peak_e4, closed_at, restated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      p.meter,
      p.start,
      p.end,
      p.totalE4,
      p.eventCount,
      p.limitE4,
      p.endValueE4,
      p.peakE4,
      p.closedAt,
      p.restatedAt,
    );
  }

  /** Stores new totals for a closed period. */
  restate(p: ClosedPeriod): void {
    this.sql.exec(
      `UPDATE closed_periods SET total_e4 = ?, event_count = ?, end_value_e4 = ?, peak_e4 = ?, restated_at = ?
       WHERE meter = ? AND period_start = ?`,
      p.totalE4,
      p.eventCount,
      p.endValueE4,
      p.peakE4,
      p.restatedAt,
      p.meter,
      p.start,
    );
  }

  /** Closed periods of a meter that share a day with `[fromMs, toMs)`. */
  overlapping(meter: string, fromMs: number, toMs: number): ClosedPeriod[] {
    return this.sql
      .exec<ClosedPeriodRow>(
        "SELECT * FROM closed_periods WHERE meter = ? AND period_end > ? AND period_start < ? ORDER BY period_start",
        meter,
        fromMs,
        toMs,
      )
      .toArray()
      .map(toClosed);
  }

  /** Closed spans of every meter, in order (for tests and state). */
  spans(meter: string): ClosedSpan[] {
    return this.sql
      .exec<{ start: number; end: number }>(
        "SELECT period_start AS start, period_end AS end FROM closed_periods WHERE meter = ? ORDER BY period_start",
        meter,
      )
      .toArray();
  }
}
