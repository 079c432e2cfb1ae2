import { and, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { StoredEvent } from "../domain/stored-event";
import { planSummary, type SummaryPlan, type SummaryQuery, summaryRanges } from "../domain/summary-plan";
import { isBucketUnit } from "../domain/time-buckets";
import { dimensionColumn, historyConditions } from "./usage-events";
import { archivedEventsCte, archivedEventsJson, summariseFromRollups } from "./usage-rollups";
import { usageEvents } from "./schema";
import type { SummaryRow } from "../domain/history-queries";

export type { SummaryRow };

/**
 * Totals grouped by any of meter, subject, one time bucket in the caller's time zone, and
 * dimensions: from the rollups where they can answer (see planSummary), else from the events.
 */
export async function summarise(d1: D1Database, query: SummaryQuery): Promise<SummaryRow[]> {
  return summariseWithArchived(d1, query, planSummary(query), []);
}

/**
 * The same with a given plan and the archived events it needs (those of the plan's edges, or of
 * the whole range when the events answer), which count as if they were still in usage_events.
 */
export async function summariseWithArchived(
  d1: D1Database,
  query: SummaryQuery,
  plan: SummaryPlan,
  archived: StoredEvent[],
): Promise<SummaryRow[]> {
  const rows =
    plan.source === "rollups" ? await summariseFromRollups(d1, query, plan, archived) : await summariseFromEvents(d1, query, archived);
  return rows.filter((r) => r.count > 0);
}

/**
 * The events alone. Time buckets come labelled (src/domain/time-buckets.ts) as ranges the events
 * are joined to, one index range each, so SQL never does calendar arithmetic. Gauge moves count as
 * their net change: removals subtract, sets add nothing.
 */
async function summariseFromEvents(d1: D1Database, query: SummaryQuery, archived: StoredEvent[]): Promise<SummaryRow[]> {
  const { groupBy, buckets, distinct, ...filter } = query;
  const ranges = buckets === null ? null : summaryRanges(query);
  const selected: { name: string; expr: SQL }[] = groupBy.map((key) => {
    if (key === "meter") return { name: key, expr: sql`${usageEvents.meter}` };
    if (key === "subjectId") return { name: key, expr: sql`${usageEvents.subjectId}` };
    if (isBucketUnit(key)) return { name: key, expr: sql.raw("p.label") };
    return { name: key, expr: dimensionColumn(key.slice("dimension.".length)) };
  });
  // The buckets are clipped to from/to, and bound the events instead.
  const where = and(...historyConditions(ranges === null ? filter : { ...filter, from: undefined, to: undefined }));
  const source = (table: SQL) =>
    ranges === null ? table : sql`buckets p CROSS JOIN ${table} ON ${usageEvents.occurredAt} >= p.lo AND ${usageEvents.occurredAt} < p.hi`;
  const ctes = [
    ...(ranges === null
      ? []
      : [
          sql`buckets(label, lo, hi) AS MATERIALIZED (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(${JSON.stringify(ranges.map((r) => [r.label, r.from, r.to]))}))`,
        ]),
    ...(archived.length === 0 ? [] : [archivedCte(archived)]),
  ];
  const keys = selected.map((s, i) => sql`${s.expr} AS ${sql.raw(`k${i}`)}`);
  const groups = selected.map((_, i) => sql.raw(`k${i}`));
  const net = sql`CASE ${usageEvents.operation} WHEN 'remove' THEN -${usageEvents.amountE4} WHEN 'set' THEN 0 ELSE ${usageEvents.amountE4} END`;
  const value = distinct === undefined ? null : dimensionColumn(distinct);
  const aggregates = (net: SQL, subject: SQL, value: SQL | null) => [
    sql`sum(${net}) AS total_e4`,
    sql`count(*) AS n`,
    sql`count(DISTINCT ${subject}) AS subjects`,
    ...(value === null ? [] : [sql`count(DISTINCT ${value}) AS distinct_values`]),
  ];
  const grouping = groups.length > 0 ? sql`GROUP BY ${sql.join(groups, sql`, `)}` : sql``;
  const perEvent = sql.join(
    [...keys, sql`${net} AS net`, sql`${usageEvents.subjectId} AS subject`, ...(value === null ? [] : [sql`${value} AS dv`])],
    sql`, `,
  );
  const statement =
    archived.length === 0
      ? sql`SELECT ${sql.join([...keys, ...aggregates(net, sql`${usageEvents.subjectId}`, value)], sql`, `)}
    FROM ${source(sql`${usageEvents}`)}
    ${where ? sql`WHERE ${where}` : sql``}
    ${grouping}`
      : // The archived events, read as a table named like usage_events, so the same expressions (drizzle names the table) apply.
        sql`SELECT ${sql.join([...groups, ...aggregates(sql`net`, sql`subject`, value === null ? null : sql`dv`)], sql`, `)}
    FROM (
      SELECT ${perEvent} FROM ${source(sql`${usageEvents}`)}
        WHERE ${sql.join([...(where ? [where] : []), sql`${usageEvents.id} NOT IN (SELECT id FROM archived)`], sql` AND `)}
      UNION ALL
      SELECT ${perEvent} FROM ${source(sql`archived AS ${usageEvents}`)} ${where ? sql`WHERE ${where}` : sql``})
    ${grouping}`;
  const rows = await drizzle(d1).all<Record<string, string | number | null>>(
    ctes.length === 0 ? statement : sql`WITH ${sql.join(ctes, sql`, `)} ${statement}`,
  );
  return rows.map((r) => ({
    keys: Object.fromEntries(selected.map((s, i) => [s.name, r[`k${i}`] === null || r[`k${i}`] === undefined ? null : String(r[`k${i}`])])),
    totalE4: Number(r.total_e4 ?? 0),
    count: Number(r.n),
    subjects: Number(r.subjects),
    ...(value === null ? {} : { distinct: Number(r.distinct_values) }),
  }));
}

function archivedCte(archived: StoredEvent[]): SQL {
  const [head, tail] = archivedEventsCte("\u0000").split("\u0000") as [string, string];
  return sql`${sql.raw(head)}${archivedEventsJson(archived)}${sql.raw(tail)}`;
}
