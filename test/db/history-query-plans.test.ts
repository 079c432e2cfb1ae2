import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../src/db/database";
import { dayCounterEvents, newestCounterReceipt, oldestCounterEvent, rawDayChecksum } from "../../src/db/history-archive";
import { counterDays, gaugeMoves } from "../../src/db/history-days";
import {
  findEvent,
  findLedgerEvents,
  type HistoryFilter,
  insertEventsStatement,
  listHistory,
  voidEventsStatement,
} from "../../src/db/usage-events";
import { summarise } from "../../src/db/usage-summary";
import type { SummaryQuery } from "../../src/domain/summary-plan";
import { bucketsBetween } from "../../src/domain/time-buckets";
import { queryPlan, recordingD1 } from "../helpers/d1-recorder";

/**
 * Every query the code sends to usage_events, for each filter combination the API allows, asked
 * of SQLite with EXPLAIN QUERY PLAN (the SQL and parameters the code really sends, recorded on
 * the way to D1). History keeps four b-trees besides the table: the primary key, (subject_id,
 * occurred_at, id), (meter, occurred_at, id) and (occurred_at, id) — see migrations 0013 and 0014.
 * A query bounded by a subject, a meter, a time range or an id must SEARCH one of them; an index
 * dropped or a query changed so that it no longer can fails here. With a subject, the subject
 * index wins over the meter index (a subject's events of one meter, not every subject's).
 *
 * Unbounded by design, and accepted: history filtered only by dimensions (no subject, meter or
 * from/to) walks the time index newest first and filters as it goes, stopping at the page size; a
 * summary counting voided events with no subject, meter or range reads every event (the rollups,
 * which answer meter and dimension summaries, leave voided events out).
 */

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 1);
const from = T0 + 3 * DAY + 1234;
const to = T0 + 10 * DAY + 777;
const cursor = { occurredAt: from + DAY, id: "evt_cursor" };

const SUBJECT = "idx_usage_events_subject_time";
const METER = "idx_usage_events_meter_time";
const TIME = "idx_usage_events_time";
const PRIMARY = "sqlite_autoindex_usage_events_1";

type Run = (d1: D1Database) => Promise<unknown>;
interface Shape {
  name: string;
  run: Run;
  /** The index every step on usage_events must use. */
  index: string;
  /** SEARCH (a bounded range or lookup), or SCAN of the index in order (unbounded, accepted). */
  access: "search" | "scan in index order" | "full scan";
  /** A listing: its order must come from the index, not a sort. */
  ordered?: boolean;
}

/** History filters the API allows (GET /v1/usage, /v1/me/usage, export.csv), with the index each must use. */
const FILTERS: { name: string; filter: HistoryFilter; index: string; bounded: boolean }[] = [
  { name: "subject", filter: { subjectId: "s1" }, index: SUBJECT, bounded: true },
  { name: "subject, range", filter: { subjectId: "s1", from, to }, index: SUBJECT, bounded: true },
  { name: "subject, from", filter: { subjectId: "s1", from }, index: SUBJECT, bounded: true },
  {
    name: "subject, meter, dimension, range",
    filter: { subjectId: "s1", meter: "fax", from, to, dimensions: { schoolId: "S1" } },
    index: SUBJECT,
    bounded: true,
  },
  { name: "subject, voided too", filter: { subjectId: "s1", includeVoided: true }, index: SUBJECT, bounded: true },
  { name: "range", filter: { from, to }, index: TIME, bounded: true },
  { name: "from", filter: { from }, index: TIME, bounded: true },
  { name: "to", filter: { to }, index: TIME, bounded: true },
  { name: "meter, range", filter: { meter: "fax", from, to }, index: METER, bounded: true },
  { name: "kept dimension, range", filter: { dimensions: { schoolId: "S1" }, from, to }, index: TIME, bounded: true },
  { name: "other dimension, range", filter: { dimensions: { other: "O1" }, from, to }, index: TIME, bounded: true },
  {
    name: "meter, dimensions, range",
    filter: { meter: "fax", dimensions: { schoolId: "S1", pantryId: "P1" }, from, to },
    index: METER,
    bounded: true,
  },
  { name: "none", filter: {}, index: TIME, bounded: false },
  { name: "meter", filter: { meter: "fax" }, index: METER, bounded: true },
  { name: "kept dimension", filter: { dimensions: { schoolId: "S1" } }, index: TIME, bounded: false },
  { name: "meter, voided too", filter: { meter: "fax", includeVoided: true }, index: METER, bounded: true },
];

const summary = (over: Partial<SummaryQuery>): SummaryQuery => ({ groupBy: [], dimensions: {}, buckets: null, ...over });

const SHAPES: Shape[] = [
  ...FILTERS.flatMap(({ name, filter, index, bounded }): Shape[] => [
    {
      name: `history page, ${name}`,
      run: (d1) => listHistory(database(d1), filter, 51),
      index,
      access: bounded ? "search" : "scan in index order",
      ordered: true,
    },
    // With a cursor the page is bounded on one side at least.
    {
      name: `history next page, ${name}`,
      run: (d1) => listHistory(database(d1), filter, 51, cursor),
      index,
      access: "search",
      ordered: true,
    },
    {
      name: `export page, ${name}`,
      run: (d1) => listHistory(database(d1), filter, 1000, cursor, "oldest"),
      index,
      access: "search",
      ordered: true,
    },
  ]),
  { name: "one event (GET /v1/usage/{id}, void, amend)", run: (d1) => findEvent(database(d1), "evt_a"), index: PRIMARY, access: "search" },
  { name: "replays' events by id", run: (d1) => findLedgerEvents(database(d1), ["evt_a", "evt_b"]), index: PRIMARY, access: "search" },
  {
    name: "voids written by a flush",
    run: (d1) => d1.batch([voidEventsStatement(d1, JSON.stringify([{ id: "evt_a", voidedAt: 1, reason: null }]))]),
    index: PRIMARY,
    access: "search",
  },
  { name: "recalculation: counter days", run: (d1) => counterDays(d1, "s1", ["storage"], null), index: SUBJECT, access: "search" },
  {
    name: "recalculation: counter days of the late window",
    run: (d1) => counterDays(d1, "s1", [], Math.floor(from / DAY)),
    index: SUBJECT,
    access: "search",
  },
  { name: "recalculation: gauge moves", run: (d1) => gaugeMoves(d1, "s1", ["storage"]), index: SUBJECT, access: "search" },
  // The archive job (src/history/history-archiver.ts): one probe per counter meter, then one UTC day by time.
  { name: "archive: the oldest due day", run: (d1) => oldestCounterEvent(d1, 0, to), index: METER, access: "search" },
  {
    name: "archive: a page of a day's counter events",
    run: (d1) => dayCounterEvents(d1, Math.floor(from / DAY), 100, cursor),
    index: TIME,
    access: "search",
    ordered: true,
  },
  { name: "archive: a day's raw checksum", run: (d1) => rawDayChecksum(d1, Math.floor(from / DAY)), index: TIME, access: "search" },
  { name: "archive: a day's newest receipt", run: (d1) => newestCounterReceipt(d1, Math.floor(from / DAY)), index: TIME, access: "search" },
  // Summaries: one subject reads the events; otherwise rollups, plus events at the ragged edges.
  {
    name: "summary of a subject",
    run: (d1) => summarise(d1, summary({ subjectId: "s1", groupBy: ["meter"] })),
    index: SUBJECT,
    access: "search",
  },
  {
    name: "summary of a subject by day",
    run: (d1) => summarise(d1, summary({ subjectId: "s1", from, to, groupBy: ["day"], buckets: bucketsBetween(from, to, "day", "UTC") })),
    index: SUBJECT,
    access: "search",
  },
  { name: "summary, everything", run: (d1) => summarise(d1, summary({})), index: TIME, access: "search" },
  {
    name: "summary of a meter, range",
    run: (d1) => summarise(d1, summary({ meter: "fax", from, to })),
    index: METER,
    access: "search",
  },
  {
    name: "summary of a meter by subject, range",
    run: (d1) => summarise(d1, summary({ meter: "fax", from, to, groupBy: ["subjectId"] })),
    index: METER,
    access: "search",
  },
  {
    name: "summary of a school by pantry, range",
    run: (d1) => summarise(d1, summary({ dimensions: { schoolId: "S1" }, from, to, groupBy: ["dimension.pantryId"] })),
    index: TIME,
    access: "search",
  },
  {
    name: "summary by day and school in a zone",
    run: (d1) =>
      summarise(
        d1,
        summary({ from, to, groupBy: ["day", "dimension.schoolId"], buckets: bucketsBetween(from, to, "day", "Asia/Kolkata") }),
      ),
    index: TIME,
    access: "search",
  },
  {
    name: "summary of a subject by hour, counting a dimension's distinct values",
    run: (d1) =>
      summarise(
        d1,
        summary({
          subjectId: "s1",
          from,
          to,
          groupBy: ["hour"],
          distinct: "other",
          buckets: bucketsBetween(from, to, "hour", "America/New_York"),
        }),
      ),
    index: SUBJECT,
    access: "search",
  },
  {
    name: "summary by hour with voided events, range",
    run: (d1) =>
      summarise(d1, summary({ includeVoided: true, from, to, groupBy: ["hour"], buckets: bucketsBetween(from, to, "hour", "UTC") })),
    index: TIME,
    access: "search",
  },
  {
    name: "summary by quarter counting distinct schools, range",
    run: (d1) =>
      summarise(
        d1,
        summary({ from, to, groupBy: ["quarter"], distinct: "schoolId", buckets: bucketsBetween(from, to, "quarter", "Asia/Kolkata") }),
      ),
    index: TIME,
    access: "search",
  },
  {
    name: "summary of a dimension the rollups lack, range",
    run: (d1) => summarise(d1, summary({ dimensions: { other: "O1" }, from, to })),
    index: TIME,
    access: "search",
  },
  {
    name: "summary within one quarter-hour (edges only)",
    run: (d1) => summarise(d1, summary({ meter: "fax", from, to: from + 60_000 })),
    index: METER,
    access: "search",
  },
  {
    name: "summary with voided events, range",
    run: (d1) => summarise(d1, summary({ includeVoided: true, from, to, groupBy: ["meter"] })),
    index: TIME,
    access: "search",
  },
  {
    name: "summary with voided events of a meter, all time",
    run: (d1) => summarise(d1, summary({ includeVoided: true, meter: "fax" })),
    index: METER,
    access: "search",
  },
];

/** The plan's steps that read usage_events (aliased `e` in the rollup edges). */
function historySteps(plan: string[]): string[] {
  return plan.filter((line) => /^(SCAN|SEARCH) (usage_events|e)\b/.test(line));
}

function event(n: number) {
  return {
    id: `evt_plans_${n}`,
    seq: n + 1,
    subjectId: `s${n % 50}`,
    meter: ["fax", "api_call", "storage"][n % 3],
    unit: "u",
    amountE4: 10_000,
    operation: "add",
    occurredAt: T0 + ((n * 7919) % (30 * DAY)),
    receivedAt: T0,
    source: "test",
    idempotencyKey: null,
    dimensions: { schoolId: `S${n % 20}`, pantryId: `P${n % 7}`, itemType: `I${n % 5}`, other: `O${n % 3}` },
    metadata: {},
  };
}

beforeAll(async () => {
  await insertEventsStatement(env.DB, JSON.stringify(Array.from({ length: 500 }, (_, n) => event(n)))).run();
});

describe("history query plans", () => {
  it("history has exactly the primary key, the subject, meter and time indexes", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_events' ORDER BY name",
    ).all<{
      name: string;
    }>();
    expect(results.map((r) => r.name)).toEqual([METER, SUBJECT, TIME, PRIMARY]);
  });

  for (const shape of SHAPES) {
    it(`${shape.name}: ${shape.access}${shape.index ? ` of ${shape.index}` : ""}`, async () => {
      const { d1, statements } = recordingD1();
      await shape.run(d1);
      const reads = statements.filter((s) => /\busage_events\b/.test(s.sql));
      expect(reads.length).toBeGreaterThan(0);
      for (const statement of reads) {
        const plan = await queryPlan(statement);
        const steps = historySteps(plan);
        const context = `${statement.sql}\n${plan.join("\n")}`;
        expect(steps.length, context).toBeGreaterThan(0);
        for (const step of steps) {
          if (shape.access === "search")
            expect(step, context).toMatch(new RegExp(`^SEARCH (usage_events|e) USING (COVERING )?INDEX ${shape.index} \\(`));
          else if (shape.access === "scan in index order") expect(step, context).toBe(`SCAN usage_events USING INDEX ${shape.index}`);
          else expect(step, context).toBe("SCAN usage_events");
        }
        if (shape.ordered)
          expect(
            plan.filter((l) => l.includes("ORDER BY")),
            context,
          ).toEqual([]);
      }
    });
  }

  it("the void trigger finds a subject-day's remaining events through the subject index", async () => {
    const trigger = await env.DB.prepare(
      "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'usage_events_void_rollups'",
    ).first<{
      sql: string;
    }>();
    expect(trigger?.sql.split("AND +e.meter = NEW.meter").length).toBe(5);
    // The subquery migrations/0007_usage_voids.sql runs per voided event, with NEW.* as parameters
    // (EXPLAIN of the UPDATE does not show trigger programs).
    const plan = await queryPlan({
      sql: `SELECT coalesce(sum(DISTINCT CASE WHEN e.occurred_at % 86400000 / 900000 < 48 THEN 1 << (e.occurred_at % 86400000 / 900000) END), 0)
        FROM usage_events e WHERE e.subject_id = ?1 AND e.occurred_at >= ?2 / 86400000 * 86400000
        AND e.occurred_at < (?2 / 86400000 + 1) * 86400000 AND +e.meter = ?3 AND e.voided_at IS NULL
        AND e.dim_school_id IS ?4 AND e.dim_pantry_id IS ?5 AND e.dim_item_type IS ?6`,
      params: ["s1", from, "fax", "S1", null, null],
    });
    expect(historySteps(plan)).toEqual([`SEARCH e USING INDEX ${SUBJECT} (subject_id=? AND occurred_at>? AND occurred_at<?)`]);
  });
});

describe("history rows written per event", () => {
  it("9: the row, its 4 index entries and 4 rollup upserts; a copy already there writes none", async () => {
    const events = Array.from({ length: 200 }, (_, n) => ({ ...event(10_000 + n), id: `evt_rows_${n}` }));
    const json = JSON.stringify(events);
    const first = await insertEventsStatement(env.DB, json).run();
    expect(first.meta.rows_written / events.length).toBe(9);
    const again = await insertEventsStatement(env.DB, json).run();
    expect(again.meta.rows_written).toBe(0);
  });
});
