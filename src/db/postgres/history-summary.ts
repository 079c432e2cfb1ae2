import type { HistoryFilter, SummaryRow } from "../../domain/history-queries";
import type { SummaryQuery } from "../../domain/summary-plan";
import type { BucketUnit, OffsetSegment } from "../../domain/time-buckets";
import { eventConditions, unescapeText } from "./history-events";
import { type PgQuery, parameters } from "./query";

const NET_AMOUNT = "CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END";

/**
 * Totals grouped by any of meter, subject, one time bucket in the caller's zone and dimensions,
 * straight from the events (PostgreSQL aggregates the range's index entries in one pass). A bucket is
 * the local date of each event from its time plus the zone's offset then: the offsets the API
 * computed, not PostgreSQL's own zone data, so both backends bucket alike. Gauge moves count as
 * their net change. Dimension values are grouped escaped and unescaped here.
 */
export async function summariseEvents(query: PgQuery, summary: SummaryQuery, offsets: OffsetSegment[] | null): Promise<SummaryRow[]> {
  const { groupBy, buckets: _buckets, ...filter } = summary;
  const { values, bind } = parameters();
  const keys = groupBy.map((key) => {
    if (key === "meter") return "meter";
    if (key === "subjectId") return "subject_id";
    if (key === "day" || key === "week" || key === "month") return bucketLabel(key, offsets ?? [{ untilMs: null, offsetMs: 0 }], bind);
    return `dimensions ->> ${bind(key.slice("dimension.".length))}::text`;
  });
  const conditions = eventConditions(filter as HistoryFilter, bind);
  const names = keys.map((_, i) => `k${i}`);
  const grouped = `SELECT ${[...keys.map((k, i) => `${k} AS k${i}`), `sum(${NET_AMOUNT}) AS total_e4`, "count(*) AS n", "count(DISTINCT subject_id) AS subjects"].join(", ")}
     FROM usage_events ${conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : ""} ${names.length > 0 ? `GROUP BY ${names.join(", ")}` : ""}`;
  // Ordered outside: ORDER BY takes an output name only bare, not under COLLATE.
  const ordering = names.length > 0 ? ` ORDER BY ${names.map((n) => `${n} COLLATE "C" NULLS FIRST`).join(", ")}` : "";
  const rows = await query<Record<string, string | null>>(`SELECT * FROM (${grouped}) AS groups${ordering}`, values);
  return rows
    .map((row) => ({
      keys: Object.fromEntries(groupBy.map((key, i) => [key, keyValue(key, row[`k${i}`] ?? null)])),
      totalE4: Number(row.total_e4 ?? 0),
      count: Number(row.n),
      subjects: Number(row.subjects),
    }))
    .filter((row) => row.count > 0);
}

function keyValue(key: string, value: string | null): string | null {
  if (value === null) return null;
  return key.startsWith("dimension.") ? unescapeText(value) : value;
}

/** The local date (YYYY-MM-DD) a bucket starts on: the day, the Monday of its week, or the 1st. */
function bucketLabel(unit: BucketUnit, offsets: OffsetSegment[], bind: (value: unknown) => string): string {
  const branches = offsets
    .filter((o) => o.untilMs !== null)
    .map((o) => `WHEN occurred_at < ${bind(o.untilMs)}::bigint THEN ${bind(o.offsetMs)}::bigint`);
  const last = `${bind(offsets[offsets.length - 1]!.offsetMs)}::bigint`;
  const offset = branches.length > 0 ? `(CASE ${branches.join(" ")} ELSE ${last} END)` : last;
  // Whole seconds, truncated as SQLite's integer division does, then read as a UTC wall clock.
  const local = `(to_timestamp(((occurred_at + ${offset}) / 1000)::double precision) AT TIME ZONE 'UTC')`;
  if (unit === "day") return `to_char(${local}, 'YYYY-MM-DD')`;
  if (unit === "month") return `to_char(${local}, 'YYYY-MM-01')`;
  return `to_char(date_trunc('week', ${local}), 'YYYY-MM-DD')`;
}
