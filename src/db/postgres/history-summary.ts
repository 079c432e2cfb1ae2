import type { HistoryFilter, SummaryRow } from "../../domain/history-queries";
import { type SummaryQuery, summaryRanges } from "../../domain/summary-plan";
import { isBucketUnit } from "../../domain/time-buckets";
import { eventConditions, unescapeText } from "./history-events";
import { type PgQuery, parameters } from "./query";

const NET_AMOUNT = "CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END";

/**
 * Totals grouped by any of meter, subject, one time bucket in the caller's zone and dimensions,
 * straight from the events. Time buckets come labelled (src/domain/time-buckets.ts, so both
 * backends bucket alike) as ranges the events are joined to, one index range each. Without
 * `distinct`, in two steps: per group and subject (one hash aggregate), then per group, where
 * distinct subjects are the rows counted; with it, in one, counting both distinct. Gauge moves
 * count as their net change. Dimension values are grouped escaped and unescaped here.
 */
export async function summariseEvents(query: PgQuery, summary: SummaryQuery): Promise<SummaryRow[]> {
  const { groupBy, buckets, distinct, ...filter } = summary;
  const { values, bind } = parameters();
  const names = groupBy.map((_, i) => `k${i}`);
  const perEvent = groupBy.map((key) => {
    if (key === "meter") return "meter";
    if (key === "subjectId") return "subject_id";
    if (isBucketUnit(key)) return "p.label";
    return `dimensions ->> ${bind(key.slice("dimension.".length))}::text`;
  });
  const ranges = buckets === null ? null : summaryRanges(summary);
  // The buckets are clipped to from/to, and bound the events instead.
  const conditions = eventConditions((ranges === null ? filter : { ...filter, from: undefined, to: undefined }) as HistoryFilter, bind);
  const whereClause = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
  // LATERAL with OFFSET 0: one index range per bucket; joined plainly, PostgreSQL scans every event of the table.
  const source =
    ranges === null
      ? `usage_events ${whereClause}`
      : `unnest(${bind(ranges.map((r) => r.label))}::text[], ${bind(ranges.map((r) => r.from))}::bigint[], ${bind(ranges.map((r) => r.to))}::bigint[]) AS p(label, lo, hi)
         CROSS JOIN LATERAL (SELECT * FROM usage_events ${[whereClause || "WHERE true", "occurred_at >= p.lo", "occurred_at < p.hi"].join(" AND ")} OFFSET 0) AS e`;
  const keys = perEvent.map((k, i) => `${k} AS k${i}`);
  const grouped =
    distinct === undefined
      ? `SELECT ${[...names, "sum(t) AS total_e4", "sum(n) AS n", "count(*) AS subjects"].join(", ")} FROM (
           SELECT ${[...keys, "subject_id AS subject", `sum(${NET_AMOUNT}) AS t`, "count(*) AS n"].join(", ")}
           FROM ${source} GROUP BY ${[...names, "subject"].join(", ")}) AS by_subject
         ${names.length > 0 ? `GROUP BY ${names.join(", ")}` : ""}`
      : `SELECT ${[
          ...keys,
          `sum(${NET_AMOUNT}) AS total_e4`,
          "count(*) AS n",
          "count(DISTINCT subject_id) AS subjects",
          `count(DISTINCT dimensions ->> ${bind(distinct)}::text) AS distinct_values`,
        ].join(", ")} FROM ${source} ${names.length > 0 ? `GROUP BY ${names.join(", ")}` : ""}`;
  const rows = await query<Record<string, string | null>>(grouped, values);
  return rows
    .map((row) => ({
      keys: Object.fromEntries(groupBy.map((key, i) => [key, keyValue(key, row[`k${i}`] ?? null)])),
      totalE4: Number(row.total_e4 ?? 0),
      count: Number(row.n),
      subjects: Number(row.subjects),
      ...(distinct === undefined ? {} : { distinct: Number(row.distinct_values) }),
    }))
    .filter((row) => row.count > 0);
}

function keyValue(key: string, value: string | null): string | null {
  if (value === null) return null;
  return key.startsWith("dimension.") ? unescapeText(value) : value;
}
