import { and, asc, eq, gt, gte, lt, or, type SQL } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { periodUsage } from "./schema";

/**
 * Upserts closed periods sent by ledgers. A later row for the same period (a late event restated
 * it) replaces the totals; when the period was first closed stays.
 */
export function upsertPeriodsStatement(d1: D1Database, periodsJson: string): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO period_usage
         (subject_id, meter, period_start, period_end, total_e4, event_count, limit_e4, end_value_e4, peak_e4, closed_at, restated_at)
       SELECT value ->> 'subjectId', value ->> 'meter', value ->> 'periodStart', value ->> 'periodEnd', value ->> 'totalE4',
              value ->> 'eventCount', value ->> 'limitE4', value ->> 'endValueE4', value ->> 'peakE4', value ->> 'closedAt', value ->> 'restatedAt'
       FROM json_each(?1) WHERE true
       ON CONFLICT (subject_id, meter, period_start) DO UPDATE SET
         period_end = excluded.period_end, total_e4 = excluded.total_e4, event_count = excluded.event_count,
         limit_e4 = excluded.limit_e4, end_value_e4 = excluded.end_value_e4, peak_e4 = excluded.peak_e4,
         restated_at = excluded.restated_at`,
    )
    .bind(periodsJson);
}

export interface PeriodFilter {
  subjectId?: string;
  meter?: string;
  /** Periods starting at or after. */
  from?: number;
  /** Periods starting before. */
  to?: number;
}

export type PeriodUsageRow = typeof periodUsage.$inferSelect;

export async function listPeriods(
  db: DrizzleD1Database,
  filter: PeriodFilter,
  limit: number,
  after?: { periodStart: number; subjectId: string; meter: string },
): Promise<PeriodUsageRow[]> {
  const conditions: (SQL | undefined)[] = [
    filter.subjectId === undefined ? undefined : eq(periodUsage.subjectId, filter.subjectId),
    filter.meter === undefined ? undefined : eq(periodUsage.meter, filter.meter),
    filter.from === undefined ? undefined : gte(periodUsage.periodStart, filter.from),
    filter.to === undefined ? undefined : lt(periodUsage.periodStart, filter.to),
  ];
  if (after) {
    conditions.push(
      or(
        gt(periodUsage.periodStart, after.periodStart),
        and(eq(periodUsage.periodStart, after.periodStart), gt(periodUsage.subjectId, after.subjectId)),
        and(eq(periodUsage.periodStart, after.periodStart), eq(periodUsage.subjectId, after.subjectId), gt(periodUsage.meter, after.meter)),
      ),
    );
  }
  return db
    .select()
    .from(periodUsage)
    .where(and(...conditions))
    .orderBy(asc(periodUsage.periodStart), asc(periodUsage.subjectId), asc(periodUsage.meter))
    .limit(limit);
}
