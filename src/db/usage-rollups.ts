import type { StoredEvent } from "../domain/stored-event";
import { dayPieces, type GroupKey, type SummaryPlan, type SummaryQuery } from "../domain/summary-plan";
import { isBucketUnit } from "../domain/time-buckets";
import type { SummaryRow } from "./usage-summary";

type RollupPlan = Extract<SummaryPlan, { source: "rollups" }>;

/** Rollup column and history column of each dimension the rollups keep (migrations/0006); a Map, keyed by callers' names. */
const DIMENSION_COLUMNS = new Map<string, { rollup: string; event: string }>([
  ["schoolId", { rollup: "school_id", event: "dim_school_id" }],
  ["pantryId", { rollup: "pantry_id", event: "dim_pantry_id" }],
  ["itemType", { rollup: "item_type", event: "dim_item_type" }],
]);

const NET_AMOUNT = "CASE e.operation WHEN 'remove' THEN -e.amount_e4 WHEN 'set' THEN 0 ELSE e.amount_e4 END";

/**
 * Archived events a summary needs (src/history/tiered-history-store.ts), as one JSON parameter, and
 * the CTE that reads them back with usage_events' column names, so the same expressions apply to
 * both. Rows still in usage_events with one of these ids (a day whose raw rows are being deleted)
 * are left out of the hot side.
 */
export function archivedEventsJson(events: StoredEvent[]): string {
  return JSON.stringify(
    events.map((e) => [e.id, e.subjectId, e.meter, e.operation, e.amountE4, e.occurredAt, e.voidedAt ?? null, e.dimensions]),
  );
}

export function archivedEventsCte(param: string): string {
  return `archived(id, subject_id, meter, operation, amount_e4, occurred_at, voided_at, dimensions, dim_school_id, dim_pantry_id, dim_item_type) AS MATERIALIZED (
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value -> 7,
           json_extract(value, '$[7].schoolId'), json_extract(value, '$[7].pantryId'), json_extract(value, '$[7].itemType')
    FROM json_each(${param}))`;
}

export const NOT_ARCHIVED = "e.id NOT IN (SELECT id FROM archived)";

/**
 * One part of a summary query: where its rows come from (`r` a rollup table, or `e` events),
 * and each group key and filter said for that source.
 */
interface Source {
  keys: string[];
  conditions: string[];
  /** The `distinct` dimension's value, JSON-quoted on both sides (NULL without it), or null when none is asked. */
  value: string | null;
}

/**
 * Answers a summary from the rollup tables plus the events at the ragged edges. Quarter grain:
 * totals from the slot rollups, distinct subjects from the subject-day rollups restricted to the
 * wanted quarters of each day. Day grain (grouped by subject): both from the subject-day rollups.
 * Distinct values of a dimension are those of the rollup rows in range (a row exists only while
 * one of its events stands) and of the edge events, counted together.
 */
export async function summariseFromRollups(
  d1: D1Database,
  query: SummaryQuery,
  plan: RollupPlan,
  archived: StoredEvent[] = [],
): Promise<SummaryRow[]> {
  // ?1 the rollup ranges (or their day pieces), ?2 the edges, ?3 archived events if any, then each filter value once.
  const params: unknown[] = [null, JSON.stringify(plan.edges.map((r) => [r.label, r.from, r.to]))];
  if (archived.length > 0) params.push(archivedEventsJson(archived));
  const bound = new Map<string, string>();
  const bind = (value: string) => {
    if (!bound.has(value)) bound.set(value, `?${params.push(value)}`);
    return bound.get(value)!;
  };
  const withRanges = (json: string) => [json, ...params.slice(1)];
  const rollupsJson = JSON.stringify(plan.rollups.map((r) => [r.label, r.from, r.to]));
  const rollup = sourceFor(query, "r", "p.label", bind);
  const events = sourceFor(query, "e", "p.label", bind);
  // Materialized: otherwise every reference to a range's bound re-reads the JSON, once per row joined.
  const edges = `edges(label, lo, hi) AS MATERIALIZED (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?2))${
    archived.length > 0 ? `, ${archivedEventsCte("?3")}` : ""
  }`;
  const ranges = `rollups(label, lo, hi) AS MATERIALIZED (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1)), ${edges}`;
  const keyNames = query.groupBy.map((_, i) => `k${i}`);
  const groupClause = keyNames.length > 0 ? `GROUP BY ${keyNames.join(", ")} ORDER BY ${keyNames.join(", ")}` : "";
  const select = (source: Source, extra: string[]) => [...source.keys.map((k, i) => `${k} AS k${i}`), ...extra].join(", ");
  const where = (source: Source, more: string[] = []) => {
    const all = [...source.conditions, ...more];
    return all.length > 0 ? `WHERE ${all.join(" AND ")}` : "";
  };
  // CROSS JOIN keeps SQLite from driving the join from the big table.
  const edgeEvents = (extra: string[]) => {
    const join = "p CROSS JOIN usage_events e ON e.occurred_at >= p.lo AND e.occurred_at < p.hi";
    if (archived.length === 0) return `SELECT ${select(events, extra)} FROM edges ${join} ${where(events)}`;
    return `SELECT ${select(events, extra)} FROM edges ${join} ${where(events, [NOT_ARCHIVED])}
      UNION ALL SELECT ${select(events, extra)} FROM edges p CROSS JOIN archived e ON e.occurred_at >= p.lo AND e.occurred_at < p.hi ${where(events)}`;
  };
  const subjectDays = plan.dimensions ? "usage_rollup_dimension_subject_days" : "usage_rollup_subject_days";

  const values = (source: Source) => (source.value === null ? [] : [source.value]);
  const distinctValues = rollup.value === null ? [] : ["count(DISTINCT v) AS distinct_values"];

  if (plan.grain === "day") {
    const sql = `WITH ${ranges}, parts AS (
        SELECT ${select(rollup, ["r.subject_id AS subject_id", "r.total_e4 AS t", "r.events AS n", ...values(rollup).map((v) => `${v} AS v`)])}
          FROM rollups p CROSS JOIN ${subjectDays} r ON r.day >= p.lo AND r.day < p.hi ${where(rollup)}
        UNION ALL ${edgeEvents(["e.subject_id", NET_AMOUNT, "1", ...values(events)])})
      SELECT ${[...keyNames, "sum(t) AS total_e4", "sum(n) AS n", "count(DISTINCT subject_id) AS subjects", ...distinctValues].join(", ")} FROM parts ${groupClause}`;
    const { results } = await d1
      .prepare(sql)
      .bind(...withRanges(rollupsJson))
      .all<Record<string, unknown>>();
    return results.map((row) => toSummaryRow(query, row, row));
  }

  const slots = plan.dimensions ? "usage_rollup_dimension_slots" : "usage_rollup_slots";
  const totals = `WITH ${ranges}, parts AS (
      SELECT ${select(rollup, ["r.total_e4 AS t", "r.events AS n", ...values(rollup).map((v) => `${v} AS v`)])}
        FROM rollups p CROSS JOIN ${slots} r ON r.slot >= p.lo AND r.slot < p.hi ${where(rollup)}
      UNION ALL ${edgeEvents([NET_AMOUNT, "1", ...values(events)])})
    SELECT ${[...keyNames, "sum(t) AS total_e4", "sum(n) AS n", ...distinctValues].join(", ")} FROM parts ${groupClause}`;
  // A subject-day row counts for a range when it had events in one of the range's quarters of that day.
  const pieces = JSON.stringify(dayPieces(plan.rollups).map((p) => [p.label, p.fromDay, p.toDay, p.am, p.pm]));
  const subjects = `WITH pieces(label, lo, hi, am, pm) AS MATERIALIZED (
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?1)), ${edges}, parts AS (
      SELECT ${select(rollup, ["r.subject_id AS subject_id"])}
        FROM pieces p CROSS JOIN ${subjectDays} r ON r.day >= p.lo AND r.day < p.hi
        WHERE ${[...rollup.conditions, "((r.quarters_am & p.am) != 0 OR (r.quarters_pm & p.pm) != 0)"].join(" AND ")}
      UNION ALL ${edgeEvents(["e.subject_id"])})
    SELECT ${[...keyNames, "count(DISTINCT subject_id) AS subjects"].join(", ")} FROM parts ${groupClause}`;
  const [totalRows, subjectRows] = await d1.batch<Record<string, unknown>>([
    d1.prepare(totals).bind(...withRanges(rollupsJson)),
    d1.prepare(subjects).bind(...withRanges(pieces)),
  ]);
  const subjectsByKey = new Map(subjectRows!.results.map((row) => [groupId(keyNames, row), row]));
  return totalRows!.results.map((row) => toSummaryRow(query, row, subjectsByKey.get(groupId(keyNames, row)) ?? { subjects: 0 }));
}

function sourceFor(query: SummaryQuery, alias: "r" | "e", label: string, bind: (value: string) => string): Source {
  const column = (name: string) => {
    const columns = DIMENSION_COLUMNS.get(name)!;
    // Grouped as JSON text (the rollups' form) and decoded in toSummaryRow: cheaper than json_extract per row.
    return alias === "r" ? `r.${columns.rollup}` : `json_quote(e.${columns.event})`;
  };
  const keys = query.groupBy.map((key) => {
    if (key === "meter") return `${alias}.meter`;
    if (key === "subjectId") return `${alias}.subject_id`;
    if (isBucketUnit(key)) return label;
    return column(key.slice("dimension.".length));
  });
  const value = query.distinct === undefined ? null : `NULLIF(${column(query.distinct)}, 'null')`;
  // Rollups never hold voided events (their trigger takes them out); history still does.
  const conditions: string[] = alias === "e" ? ["e.voided_at IS NULL"] : [];
  if (query.subjectId !== undefined) conditions.push(`${alias}.subject_id = ${bind(query.subjectId)}`);
  if (query.meter !== undefined) conditions.push(`${alias}.meter = ${bind(query.meter)}`);
  for (const [name, value] of Object.entries(query.dimensions)) {
    const columns = DIMENSION_COLUMNS.get(name)!;
    conditions.push(alias === "r" ? `r.${columns.rollup} = json_quote(${bind(value)})` : `e.${columns.event} = ${bind(value)}`);
  }
  return { keys, conditions, value };
}

function groupId(keyNames: string[], row: Record<string, unknown>): string {
  return JSON.stringify(keyNames.map((k) => row[k] ?? null));
}

function toSummaryRow(query: SummaryQuery, totals: Record<string, unknown>, subjects: Record<string, unknown>): SummaryRow {
  return {
    keys: Object.fromEntries(query.groupBy.map((key, i) => [key, keyValue(key, totals[`k${i}`])])),
    totalE4: Number(totals.total_e4 ?? 0),
    count: Number(totals.n ?? 0),
    subjects: Number(subjects.subjects ?? 0),
    ...(query.distinct === undefined ? {} : { distinct: Number(totals.distinct_values ?? 0) }),
  };
}

function keyValue(key: GroupKey, value: unknown): string | null {
  const decoded = key.startsWith("dimension.") && typeof value === "string" ? (JSON.parse(value) as unknown) : value;
  return decoded === null || decoded === undefined ? null : String(decoded);
}
