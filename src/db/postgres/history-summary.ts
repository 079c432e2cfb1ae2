import type { HistoryFilter, SummaryRow } from "../../domain/history-queries";
import type { SummaryQuery } from "../../domain/summary-plan";
import type { BucketUnit, OffsetSegment } from "../../domain/time-buckets";
import { eventConditions, unescapeText } from "./history-events";
import { type PgQuery, parameters } from "./query";

const NET_AMOUNT = "CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END";

/**
 * Totals grouped by any of meter, subject, one time bucket in the caller's zone and dimensions,
 * straight from the events, in steps: per group and subject (one hash aggregate over the range,
 * with the bucket as a local day number: integer arithmetic per event), then per bucket label and
 * subject, then per group, where distinct subjects are the rows counted. A local day is
 * the event's time plus the zone's offset then: the offsets the API computed, not PostgreSQL's own
 * zone data, so both backends bucket alike. Gauge moves count as their net change. Dimension
 * values are grouped escaped and unescaped here.
 */
export async function summariseEvents(query: PgQuery, summary: SummaryQuery, offsets: OffsetSegment[] | null): Promise<SummaryRow[]> {
  const { groupBy, buckets: _buckets, ...filter } = summary;
  const { values, bind } = parameters();
  const names = groupBy.map((_, i) => `k${i}`);
  const perEvent = groupBy.map((key) => {
    if (key === "meter") return "meter";
    if (key === "subjectId") return "subject_id";
    if (key === "day" || key === "week" || key === "month") return localDay(offsets ?? [{ untilMs: null, offsetMs: 0 }], bind);
    return `dimensions ->> ${bind(key.slice("dimension.".length))}::text`;
  });
  const perGroup = groupBy.map((key, i) => (key === "day" || key === "week" || key === "month" ? bucketLabel(key, names[i]!) : names[i]!));
  const conditions = eventConditions(filter as HistoryFilter, bind);
  const bySubject = `SELECT ${[...perEvent.map((k, i) => `${k} AS k${i}`), "subject_id AS subject", `sum(${NET_AMOUNT}) AS t`, "count(*) AS n"].join(", ")}
     FROM usage_events ${conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : ""}
     GROUP BY ${[...names, "subject"].join(", ")}`;
  // A week's or month's subjects are counted once however many of its days they were active on.
  const bucketed = groupBy.some((key) => key === "day" || key === "week" || key === "month")
    ? `SELECT ${[...perGroup.map((k, i) => `${k} AS k${i}`), "subject", "sum(t) AS t", "sum(n) AS n"].join(", ")}
       FROM (${bySubject}) AS by_day GROUP BY ${[...perGroup.map((_, i) => i + 1), perGroup.length + 1].join(", ")}`
    : bySubject;
  const grouped = `SELECT ${[...names, "sum(t) AS total_e4", "sum(n) AS n", "count(*) AS subjects"].join(", ")}
     FROM (${bucketed}) AS by_subject ${names.length > 0 ? `GROUP BY ${names.join(", ")}` : ""}`;
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

/**
 * The local day number (days since 1970-01-01) of each event: its time plus the zone's offset then,
 * in whole seconds truncated as SQLite's integer division does, then floored to a day as SQLite's
 * date functions do.
 */
function localDay(offsets: OffsetSegment[], bind: (value: unknown) => string): string {
  const branches = offsets
    .filter((o) => o.untilMs !== null)
    .map((o) => `WHEN occurred_at < ${bind(o.untilMs)}::bigint THEN ${bind(o.offsetMs)}::bigint`);
  const last = `${bind(offsets[offsets.length - 1]!.offsetMs)}::bigint`;
  const offset = branches.length > 0 ? `(CASE ${branches.join(" ")} ELSE ${last} END)` : last;
  return `floor(((occurred_at + ${offset}) / 1000) / 86400.0)::integer`;
}

/** The local date (YYYY-MM-DD) a bucket starts on, from a day number: the day, the Monday of its week, or the 1st. */
function bucketLabel(unit: BucketUnit, day: string): string {
  const date = `(date '1970-01-01' + ${day})`;
  if (unit === "day") return `to_char(${date}, 'YYYY-MM-DD')`;
  if (unit === "month") return `to_char(${date}, 'YYYY-MM-01')`;
  // 1970-01-01 was a Thursday, three days after a Monday.
  return `to_char(${date} - ((${day} + 3) % 7 + 7) % 7, 'YYYY-MM-DD')`;
}
