import { and, sql, type SQL } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Bucket } from "../domain/time-buckets";
import { dimensionColumn, historyConditions, type HistoryFilter } from "./usage-events";
import { usageEvents } from "./schema";

export type GroupKey = "meter" | "subjectId" | "day" | "week" | "month" | `dimension.${string}`;

export interface SummaryRow {
  keys: Record<string, string | null>;
  totalE4: number;
  count: number;
  subjects: number;
}

/**
 * Totals grouped by any of meter, subject, one time bucket (given as explicit bounds, computed in
 * the caller's time zone) and dimensions. Buckets join by range on the time index. Gauge moves
 * count as their net change: removals subtract, sets add nothing.
 */
export async function summarise(
  db: DrizzleD1Database,
  filter: HistoryFilter,
  groupBy: GroupKey[],
  buckets: Bucket[] | null,
): Promise<SummaryRow[]> {
  const selected: { name: string; expr: SQL }[] = groupBy.map((key) => {
    if (key === "meter") return { name: key, expr: sql`${usageEvents.meter}` };
    if (key === "subjectId") return { name: key, expr: sql`${usageEvents.subjectId}` };
    if (key === "day" || key === "week" || key === "month") return { name: key, expr: sql`b.value ->> 2` };
    return { name: key, expr: dimensionColumn(key.slice("dimension.".length)) };
  });
  const from = buckets ? sql`${usageEvents} JOIN json_each(${JSON.stringify(buckets.map((b) => [b.start, b.end, b.label]))}) AS b
      ON ${usageEvents.occurredAt} >= (b.value ->> 0) AND ${usageEvents.occurredAt} < (b.value ->> 1)` : sql`${usageEvents}`;
  const where = and(...historyConditions(filter));
  const keys = selected.map((s, i) => sql`${s.expr} AS ${sql.raw(`k${i}`)}`);
  const groups = selected.map((_, i) => sql.raw(`k${i}`));
  const query = sql`SELECT ${sql.join([...keys, sql`sum(CASE ${usageEvents.operation} WHEN 'remove' THEN -${usageEvents.amountE4} WHEN 'set' THEN 0 ELSE ${usageEvents.amountE4} END) AS total_e4`, sql`count(*) AS n`, sql`count(DISTINCT ${usageEvents.subjectId}) AS subjects`], sql`, `)}
    FROM ${from}
    ${where ? sql`WHERE ${where}` : sql``}
    ${groups.length > 0 ? sql`GROUP BY ${sql.join(groups, sql`, `)} ORDER BY ${sql.join(groups, sql`, `)}` : sql``}`;
  const rows = await db.all<Record<string, string | number | null>>(query);
  return rows
    .filter((r) => Number(r.n) > 0)
    .map((r) => ({
      keys: Object.fromEntries(selected.map((s, i) => [s.name, r[`k${i}`] === null || r[`k${i}`] === undefined ? null : String(r[`k${i}`])])),
      totalE4: Number(r.total_e4 ?? 0),
      count: Number(r.n),
      subjects: Number(r.subjects),
    }));
}
