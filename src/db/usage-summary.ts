import { and, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { StoredEvent } from "../domain/stored-event";
import { planSummary, type SummaryPlan, type SummaryQuery } from "../domain/summary-plan";
import type { BucketUnit, OffsetSegment } from "../domain/time-buckets";
import { dimensionColumn, historyConditions } from "./usage-events";
import { archivedEventsCte, archivedEventsJson, summariseFromRollups } from "./usage-rollups";
import { usageEvents } from "./schema";
import type { SummaryRow } from "../domain/history-queries";

export type { SummaryRow };

/**
 * Totals grouped by any of meter, subject, one time bucket in the caller's time zone, and
 * dimensions: from the rollups where they can answer (see planSummary), else from the events.
 * `offsets` are the zone's UTC offsets over the range, for bucketing events.
 */
export async function summarise(d1: D1Database, query: SummaryQuery, offsets: OffsetSegment[] | null): Promise<SummaryRow[]> {
  return summariseWithArchived(d1, query, offsets, planSummary(query), []);
}

/**
 * The same with a given plan and the archived events it needs (those of the plan's edges, or of
 * the whole range when the events answer), which count as if they were still in usage_events.
 */
export async function summariseWithArchived(
  d1: D1Database,
  query: SummaryQuery,
  offsets: OffsetSegment[] | null,
  plan: SummaryPlan,
  archived: StoredEvent[],
): Promise<SummaryRow[]> {
  const rows =
    plan.source === "rollups"
      ? await summariseFromRollups(d1, query, plan, archived)
      : await summariseFromEvents(d1, query, offsets, archived);
  return rows.filter((r) => r.count > 0);
}

/**
 * The events alone. A bucket is the local date of each event, computed in SQL from its time plus the
 * zone's offset then (one CASE branch per DST change in the range), so grouping stays a single
 * pass over the time index. Gauge moves count as their net change: removals subtract, sets add
 * nothing.
 */
async function summariseFromEvents(
  d1: D1Database,
  query: SummaryQuery,
  offsets: OffsetSegment[] | null,
  archived: StoredEvent[],
): Promise<SummaryRow[]> {
  const { groupBy, ...filter } = query;
  const selected: { name: string; expr: SQL }[] = groupBy.map((key) => {
    if (key === "meter") return { name: key, expr: sql`${usageEvents.meter}` };
    if (key === "subjectId") return { name: key, expr: sql`${usageEvents.subjectId}` };
    if (key === "day" || key === "week" || key === "month")
      return { name: key, expr: bucketLabel(key, offsets ?? [{ untilMs: null, offsetMs: 0 }]) };
    return { name: key, expr: dimensionColumn(key.slice("dimension.".length)) };
  });
  const from = sql`${usageEvents}`;
  const where = and(...historyConditions(filter));
  const keys = selected.map((s, i) => sql`${s.expr} AS ${sql.raw(`k${i}`)}`);
  const groups = selected.map((_, i) => sql.raw(`k${i}`));
  const net = sql`CASE ${usageEvents.operation} WHEN 'remove' THEN -${usageEvents.amountE4} WHEN 'set' THEN 0 ELSE ${usageEvents.amountE4} END`;
  const grouping = groups.length > 0 ? sql`GROUP BY ${sql.join(groups, sql`, `)} ORDER BY ${sql.join(groups, sql`, `)}` : sql``;
  const statement =
    archived.length === 0
      ? sql`SELECT ${sql.join([...keys, sql`sum(${net}) AS total_e4`, sql`count(*) AS n`, sql`count(DISTINCT ${usageEvents.subjectId}) AS subjects`], sql`, `)}
    FROM ${from}
    ${where ? sql`WHERE ${where}` : sql``}
    ${grouping}`
      : // The archived events, read as a table named like usage_events, so the same expressions (drizzle names the table) apply.
        sql`WITH ${archivedCte(archived)} SELECT ${sql.join([...groups, sql`sum(net) AS total_e4`, sql`count(*) AS n`, sql`count(DISTINCT subject) AS subjects`], sql`, `)}
    FROM (
      SELECT ${sql.join([...keys, sql`${net} AS net`, sql`${usageEvents.subjectId} AS subject`], sql`, `)} FROM ${from}
        WHERE ${sql.join([...(where ? [where] : []), sql`${usageEvents.id} NOT IN (SELECT id FROM archived)`], sql` AND `)}
      UNION ALL
      SELECT ${sql.join([...keys, sql`${net} AS net`, sql`${usageEvents.subjectId} AS subject`], sql`, `)} FROM archived AS ${from}
        ${where ? sql`WHERE ${where}` : sql``})
    ${grouping}`;
  const rows = await drizzle(d1).all<Record<string, string | number | null>>(statement);
  return rows.map((r) => ({
    keys: Object.fromEntries(selected.map((s, i) => [s.name, r[`k${i}`] === null || r[`k${i}`] === undefined ? null : String(r[`k${i}`])])),
    totalE4: Number(r.total_e4 ?? 0),
    count: Number(r.n),
    subjects: Number(r.subjects),
  }));
}

function archivedCte(archived: StoredEvent[]): SQL {
  const [head, tail] = archivedEventsCte("\u0000").split("\u0000") as [string, string];
  return sql`${sql.raw(head)}${archivedEventsJson(archived)}${sql.raw(tail)}`;
}

/** The local date (YYYY-MM-DD) a bucket starts on: the day, the Monday of its week, or the 1st. */
function bucketLabel(unit: BucketUnit, offsets: OffsetSegment[]): SQL {
  const branches = offsets
    .filter((o) => o.untilMs !== null)
    .map((o) => sql`WHEN ${usageEvents.occurredAt} < ${o.untilMs} THEN ${o.offsetMs}`);
  const last = offsets[offsets.length - 1]!.offsetMs;
  const offset = branches.length > 0 ? sql`(CASE ${sql.join(branches, sql` `)} ELSE ${last} END)` : sql`${last}`;
  const seconds = sql`((${usageEvents.occurredAt} + ${offset}) / 1000)`;
  if (unit === "day") return sql`strftime('%Y-%m-%d', ${seconds}, 'unixepoch')`;
  if (unit === "month") return sql`strftime('%Y-%m-01', ${seconds}, 'unixepoch')`;
  return sql`date(${seconds}, 'unixepoch', '-' || ((CAST(strftime('%w', ${seconds}, 'unixepoch') AS INTEGER) + 6) % 7) || ' days')`;
}
