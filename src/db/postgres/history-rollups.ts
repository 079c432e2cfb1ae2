import type { SummaryRow } from "../../domain/history-queries";
import { dayPieces, type GroupKey, type SummaryPlan, type SummaryQuery } from "../../domain/summary-plan";
import { isBucketUnit } from "../../domain/time-buckets";
import { escapeText, type PgEventRow, unescapeText } from "./history-events";
import { type PgQuery, parameters } from "./query";

/**
 * PostgreSQL's rollups (migrations/postgres/0001_history_rollups.sql), kept in the writer's
 * transaction from the rows a statement really inserted or voided, and summaries read from them
 * as D1's are (src/db/usage-rollups.ts): whole quarter-hours or days from the rollups, the ragged
 * edges from the events.
 */

type RollupPlan = Extract<SummaryPlan, { source: "rollups" }>;

const net = (alias: string) => `CASE ${alias}operation WHEN 'remove' THEN -${alias}amount_e4 WHEN 'set' THEN 0 ELSE ${alias}amount_e4 END`;
const quarter = (alias: string) => `(${alias}occurred_at % 86400000 / 900000)`;
const am = (alias: string) => `CASE WHEN ${quarter(alias)} < 48 THEN 1::bigint << ${quarter(alias)}::int ELSE 0 END`;
const pm = (alias: string) => `CASE WHEN ${quarter(alias)} >= 48 THEN 1::bigint << (${quarter(alias)} - 48)::int ELSE 0 END`;
/** Rollup column and dimension name of each dimension the rollups keep; a Map, keyed by callers' names. */
const DIMENSIONS = new Map([
  ["schoolId", "school_id"],
  ["pantryId", "pantry_id"],
  ["itemType", "item_type"],
]);
/** A rollup dimension column's value for an event: '=' and the stored value, or '' without it. */
const dimension = (alias: string, name: string) => `coalesce('=' || (${alias}dimensions ->> '${name}'), '')`;
const dimensionValues = (alias: string) => [...DIMENSIONS.keys()].map((name) => dimension(alias, name));

const SLOT_KEY = "occurred_at / 900000, meter";
const DAY_KEY = "occurred_at / 86400000, meter, subject_id";
const adds = (table: string) => `total_e4 = ${table}.total_e4 + excluded.total_e4, events = ${table}.events + excluded.events`;
const ors = (table: string) =>
  `quarters_am = ${table}.quarters_am | excluded.quarters_am, quarters_pm = ${table}.quarters_pm | excluded.quarters_pm`;

/** Inserts events (ON CONFLICT DO NOTHING) and adds what the statement inserted to every rollup, in one statement. */
export async function insertEventsWithRollups(query: PgQuery, rows: PgEventRow[]): Promise<void> {
  const column = <K extends keyof PgEventRow>(key: K) => rows.map((r) => r[key]);
  const dims = dimensionValues("").join(", ");
  await query(
    `WITH added AS (
       INSERT INTO usage_events (id, subject_id, meter, amount_e4, operation, occurred_at, received_at, subject_seq, dimensions, event)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::jsonb[], $10::text[])
       ON CONFLICT DO NOTHING
       RETURNING occurred_at, meter, subject_id, amount_e4, operation, dimensions),
     slots AS (
       INSERT INTO usage_rollup_slots SELECT ${SLOT_KEY}, sum(${net("")}), count(*) FROM added GROUP BY 1, 2
       ON CONFLICT (slot, meter) DO UPDATE SET ${adds("usage_rollup_slots")}),
     dimension_slots AS (
       INSERT INTO usage_rollup_dimension_slots SELECT ${SLOT_KEY}, ${dims}, sum(${net("")}), count(*) FROM added GROUP BY 1, 2, 3, 4, 5
       ON CONFLICT (slot, meter, school_id, pantry_id, item_type) DO UPDATE SET ${adds("usage_rollup_dimension_slots")}),
     subject_days AS (
       INSERT INTO usage_rollup_subject_days SELECT ${DAY_KEY}, sum(${net("")}), count(*), bit_or(${am("")}), bit_or(${pm("")})
       FROM added GROUP BY 1, 2, 3
       ON CONFLICT (day, meter, subject_id) DO UPDATE SET ${adds("usage_rollup_subject_days")}, ${ors("usage_rollup_subject_days")}),
     dimension_subject_days AS (
       INSERT INTO usage_rollup_dimension_subject_days
       SELECT ${DAY_KEY}, ${dims}, sum(${net("")}), count(*), bit_or(${am("")}), bit_or(${pm("")}) FROM added GROUP BY 1, 2, 3, 4, 5, 6
       ON CONFLICT (day, meter, subject_id, school_id, pantry_id, item_type)
       DO UPDATE SET ${adds("usage_rollup_dimension_subject_days")}, ${ors("usage_rollup_dimension_subject_days")})
     SELECT count(*) FROM added`,
    [
      column("id"),
      column("subjectId"),
      column("meter"),
      column("amountE4"),
      column("operation"),
      column("occurredAt"),
      column("receivedAt"),
      column("seq"),
      column("dimensions"),
      column("event"),
    ],
  );
}

interface VoidedRow {
  occurred_at: string;
  meter: string;
  subject_id: string;
  school_id: string;
  pantry_id: string;
  item_type: string;
}

/**
 * Marks voided events once (an event already voided keeps its first void) and takes them out of
 * the rollups: totals and counts at once; then each touched subject-day's quarters again from the
 * events that still stand (a statement sees the rows as they were before it), and rows left empty go.
 */
export async function voidEventsWithRollups(query: PgQuery, bodies: string[]): Promise<void> {
  const voids = bodies.map((body) => JSON.parse(body) as { id: string; voidedAt: number; reason?: string | null });
  const dims = dimensionValues("");
  const takes = (table: string, key: string[]) => `UPDATE ${table} AS r SET total_e4 = r.total_e4 - v.t, events = r.events - v.n
       FROM (SELECT ${key.map((k, i) => `${k} AS c${i}`).join(", ")}, sum(${net("")}) AS t, count(*) AS n FROM voided GROUP BY ${key.map((_, i) => i + 1).join(", ")}) AS v
       WHERE ${tableKey(table)
         .map((c, i) => `r.${c} = v.c${i}`)
         .join(" AND ")}`;
  const voided = await query<VoidedRow>(
    `WITH voided AS (
       UPDATE usage_events AS u SET voided_at = v.voided_at, void_reason = v.reason
       FROM (SELECT DISTINCT ON (id) * FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS v(id, voided_at, reason, n) ORDER BY id, n) AS v
       WHERE u.id = v.id AND u.voided_at IS NULL
       RETURNING u.occurred_at, u.meter, u.subject_id, u.amount_e4, u.operation, u.dimensions),
     slots AS (${takes("usage_rollup_slots", ["occurred_at / 900000", "meter"])}),
     dimension_slots AS (${takes("usage_rollup_dimension_slots", ["occurred_at / 900000", "meter", ...dims])}),
     subject_days AS (${takes("usage_rollup_subject_days", ["occurred_at / 86400000", "meter", "subject_id"])}),
     dimension_subject_days AS (${takes("usage_rollup_dimension_subject_days", ["occurred_at / 86400000", "meter", "subject_id", ...dims])})
     SELECT occurred_at, meter, subject_id, ${dims.map((d, i) => `${d} AS ${["school_id", "pantry_id", "item_type"][i]}`).join(", ")} FROM voided`,
    [voids.map((v) => v.id), voids.map((v) => v.voidedAt), voids.map((v) => (v.reason == null ? null : JSON.stringify(v.reason)))],
  );
  if (voided.length === 0) return;
  const keys = {
    slot: voided.map((v) => Math.trunc(Number(v.occurred_at) / 900_000)),
    day: voided.map((v) => Math.trunc(Number(v.occurred_at) / 86_400_000)),
    meter: voided.map((v) => v.meter),
    subject: voided.map((v) => v.subject_id),
    school: voided.map((v) => v.school_id),
    pantry: voided.map((v) => v.pantry_id),
    item: voided.map((v) => v.item_type),
  };
  const standing = (extra: string) => `FROM usage_events e WHERE e.subject_id = r.subject_id AND e.meter = r.meter
       AND e.occurred_at >= r.day * 86400000 AND e.occurred_at < (r.day + 1) * 86400000 AND e.voided_at IS NULL ${extra}`;
  const sameDimensions = ["school_id", "pantry_id", "item_type"].map((c, i) => `AND ${dimensionValues("e.")[i]} = r.${c}`).join(" ");
  await query(
    `UPDATE usage_rollup_subject_days AS r SET
       quarters_am = coalesce((SELECT bit_or(${am("e.")}) ${standing("")}), 0),
       quarters_pm = coalesce((SELECT bit_or(${pm("e.")}) ${standing("")}), 0)
     FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(day, meter, subject)) AS k
     WHERE r.day = k.day AND r.meter = k.meter AND r.subject_id = k.subject`,
    [keys.day, keys.meter, keys.subject],
  );
  await query(
    `UPDATE usage_rollup_dimension_subject_days AS r SET
       quarters_am = coalesce((SELECT bit_or(${am("e.")}) ${standing(sameDimensions)}), 0),
       quarters_pm = coalesce((SELECT bit_or(${pm("e.")}) ${standing(sameDimensions)}), 0)
     FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS k(day, meter, subject, school, pantry, item)) AS k
     WHERE r.day = k.day AND r.meter = k.meter AND r.subject_id = k.subject AND r.school_id = k.school AND r.pantry_id = k.pantry AND r.item_type = k.item`,
    [keys.day, keys.meter, keys.subject, keys.school, keys.pantry, keys.item],
  );
  const empties: [string, string, unknown[][]][] = [
    ["usage_rollup_slots", "bigint[], text[]", [keys.slot, keys.meter]],
    [
      "usage_rollup_dimension_slots",
      "bigint[], text[], text[], text[], text[]",
      [keys.slot, keys.meter, keys.school, keys.pantry, keys.item],
    ],
    ["usage_rollup_subject_days", "bigint[], text[], text[]", [keys.day, keys.meter, keys.subject]],
    [
      "usage_rollup_dimension_subject_days",
      "bigint[], text[], text[], text[], text[], text[]",
      [keys.day, keys.meter, keys.subject, keys.school, keys.pantry, keys.item],
    ],
  ];
  for (const [table, types, values] of empties) {
    const columns = tableKey(table);
    const arrays = types.split(", ").map((type, i) => `$${i + 1}::${type}`);
    await query(
      `DELETE FROM ${table} AS r USING unnest(${arrays.join(", ")}) AS k(${columns.join(", ")})
       WHERE ${columns.map((c) => `r.${c} = k.${c}`).join(" AND ")} AND r.events <= 0`,
      values,
    );
  }
}

function tableKey(table: string): string[] {
  const dims = ["school_id", "pantry_id", "item_type"];
  if (table === "usage_rollup_slots") return ["slot", "meter"];
  if (table === "usage_rollup_dimension_slots") return ["slot", "meter", ...dims];
  if (table === "usage_rollup_subject_days") return ["day", "meter", "subject_id"];
  return ["day", "meter", "subject_id", ...dims];
}

interface Source {
  keys: string[];
  conditions: string[];
  /** The `distinct` dimension's value in the rollups' form (NULL without it), or null when none is asked. */
  value: string | null;
}

/**
 * A summary from the rollups plus the events at the ragged edges (see planSummary). Quarter
 * grain: totals from the slots, distinct subjects from the subject-days restricted to the wanted
 * quarters of each day. Day grain (grouped by subject): both from the subject-days. Distinct
 * values of a dimension: those of the rollup rows in range and of the edge events, together.
 */
export async function summariseFromRollups(query: PgQuery, summary: SummaryQuery, plan: RollupPlan): Promise<SummaryRow[]> {
  const names = summary.groupBy.map((_, i) => `k${i}`);
  const grouping = names.length > 0 ? `GROUP BY ${names.join(", ")}` : "";
  const subjectDays = plan.dimensions ? "usage_rollup_dimension_subject_days" : "usage_rollup_subject_days";
  /** One statement with its own parameters: PostgreSQL refuses a parameter a statement does not use. */
  const run = (build: (parts: StatementParts) => string) => {
    const { values, bind } = parameters();
    const rollup = sourceFor(summary, "r", bind);
    const events = sourceFor(summary, "e", bind);
    const ranges = (rows: { label: string | null; from: number; to: number }[]) =>
      `unnest(${bind(rows.map((r) => r.label))}::text[], ${bind(rows.map((r) => r.from))}::bigint[], ${bind(rows.map((r) => r.to))}::bigint[]) AS p(label, lo, hi)`;
    // LATERAL with OFFSET 0: one index range per edge; joined plainly, PostgreSQL scans every event of the table.
    const edgeEvents = (extra: string[]) =>
      `SELECT ${select(events, extra)} FROM ${ranges(plan.edges)} CROSS JOIN LATERAL (
         SELECT * FROM usage_events e ${where(events, ["e.occurred_at >= p.lo", "e.occurred_at < p.hi"])} OFFSET 0) AS e`;
    return query<Record<string, string | null>>(build({ bind, rollup, events, ranges, edgeEvents }), values);
  };

  const values = (source: Source) => (source.value === null ? [] : [`${source.value} AS v`]);
  const distinctValues = summary.distinct === undefined ? [] : ["count(DISTINCT v) AS distinct_values"];

  if (plan.grain === "day") {
    const rows = await run(
      ({
        rollup,
        events,
        ranges,
        edgeEvents,
      }) => `SELECT ${[...names, "sum(t) AS total_e4", "sum(n) AS n", "count(DISTINCT subject_id) AS subjects", ...distinctValues].join(", ")} FROM (
         SELECT ${select(rollup, ["r.subject_id AS subject_id", "r.total_e4 AS t", "r.events AS n", ...values(rollup)])}
           FROM ${ranges(plan.rollups)} JOIN ${subjectDays} r ON r.day >= p.lo AND r.day < p.hi ${where(rollup)}
         UNION ALL ${edgeEvents(["e.subject_id", net("e."), "1", ...values(events)])}) AS parts ${grouping}`,
    );
    return rows.map((row) => toSummaryRow(summary, row, row));
  }

  const slots = plan.dimensions ? "usage_rollup_dimension_slots" : "usage_rollup_slots";
  const totals = await run(
    ({
      rollup,
      events,
      ranges,
      edgeEvents,
    }) => `SELECT ${[...names, "sum(t) AS total_e4", "sum(n) AS n", ...distinctValues].join(", ")} FROM (
       SELECT ${select(rollup, ["r.total_e4 AS t", "r.events AS n", ...values(rollup)])}
         FROM ${ranges(plan.rollups)} JOIN ${slots} r ON r.slot >= p.lo AND r.slot < p.hi ${where(rollup)}
       UNION ALL ${edgeEvents([net("e."), "1", ...values(events)])}) AS parts ${grouping}`,
  );
  const pieces = dayPieces(plan.rollups);
  const subjects = await run(({ bind, rollup, edgeEvents }) => {
    const column = (values: unknown[], type: string) => `${bind(values)}::${type}[]`;
    const from = `unnest(${column(
      pieces.map((p) => p.label),
      "text",
    )}, ${column(
      pieces.map((p) => p.fromDay),
      "bigint",
    )}, ${column(
      pieces.map((p) => p.toDay),
      "bigint",
    )}, ${column(
      pieces.map((p) => p.am),
      "bigint",
    )}, ${column(
      pieces.map((p) => p.pm),
      "bigint",
    )}) AS p(label, lo, hi, am, pm)`;
    return `SELECT ${[...names, "count(DISTINCT subject_id) AS subjects"].join(", ")} FROM (
       SELECT ${select(rollup, ["r.subject_id AS subject_id"])}
         FROM ${from} JOIN ${subjectDays} r ON r.day >= p.lo AND r.day < p.hi
         ${where(rollup, ["((r.quarters_am & p.am) != 0 OR (r.quarters_pm & p.pm) != 0)"])}
       UNION ALL ${edgeEvents(["e.subject_id"])}) AS parts ${grouping}`;
  });
  const subjectsByKey = new Map(subjects.map((row) => [groupId(names, row), row]));
  return totals.map((row) => toSummaryRow(summary, row, subjectsByKey.get(groupId(names, row)) ?? { subjects: "0" }));
}

interface StatementParts {
  bind: (value: unknown) => string;
  rollup: Source;
  events: Source;
  ranges: (rows: { label: string | null; from: number; to: number }[]) => string;
  edgeEvents: (extra: string[]) => string;
}

function select(source: Source, extra: string[]): string {
  return [...source.keys.map((k, i) => `${k} AS k${i}`), ...extra].join(", ");
}

function where(source: Source, more: string[] = []): string {
  const all = [...source.conditions, ...more];
  return all.length > 0 ? `WHERE ${all.join(" AND ")}` : "";
}

function sourceFor(summary: SummaryQuery, alias: "r" | "e", bind: (value: unknown) => string): Source {
  const column = (name: string) => (alias === "r" ? `r.${DIMENSIONS.get(name)!}` : dimension("e.", name));
  const keys = summary.groupBy.map((key) => {
    if (key === "meter") return `${alias}.meter`;
    if (key === "subjectId") return `${alias}.subject_id`;
    if (isBucketUnit(key)) return "p.label";
    return column(key.slice("dimension.".length));
  });
  const value = summary.distinct === undefined ? null : `NULLIF(${column(summary.distinct)}, '')`;
  const conditions: string[] = alias === "e" ? ["e.voided_at IS NULL"] : [];
  if (summary.meter !== undefined) conditions.push(`${alias}.meter = ${bind(summary.meter)}`);
  for (const [name, value] of Object.entries(summary.dimensions)) {
    conditions.push(
      alias === "r"
        ? `r.${DIMENSIONS.get(name)!} = ${bind(`=${escapeText(value)}`)}`
        : `e.dimensions ->> ${bind(name)}::text = ${bind(escapeText(value))}`,
    );
  }
  return { keys, conditions, value };
}

function groupId(names: string[], row: Record<string, unknown>): string {
  return JSON.stringify(names.map((k) => row[k] ?? null));
}

function toSummaryRow(summary: SummaryQuery, totals: Record<string, unknown>, subjects: Record<string, unknown>): SummaryRow {
  return {
    keys: Object.fromEntries(summary.groupBy.map((key, i) => [key, keyValue(key, (totals[`k${i}`] ?? null) as string | null)])),
    totalE4: Number(totals.total_e4 ?? 0),
    count: Number(totals.n ?? 0),
    subjects: Number(subjects.subjects ?? 0),
    ...(summary.distinct === undefined ? {} : { distinct: Number(totals.distinct_values ?? 0) }),
  };
}

function keyValue(key: GroupKey, value: string | null): string | null {
  if (value === null) return null;
  if (!key.startsWith("dimension.")) return value;
  return value === "" ? null : unescapeText(value.slice(1));
}
