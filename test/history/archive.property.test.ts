import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { insertEventsStatement, voidEventsStatement } from "../../src/db/usage-events";
import { DomainError } from "../../src/domain/errors";
import type { StoredEvent } from "../../src/domain/stored-event";
import { D1HistoryStore } from "../../src/history/d1-history-store";
import { HistoryArchiver } from "../../src/history/history-archiver";
import { TieredHistoryStore } from "../../src/history/tiered-history-store";
import { api } from "../helpers/api";
import { modelSummary, summaryParams } from "../helpers/summary-model";

/**
 * Summaries and listings over archived days equal a brute-force computation over the raw events
 * (the style of test/reports/summary.property.test.ts), once most days have moved to R2.
 */
const ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham"];
const DAY = 86_400_000;
const asOf = Date.now();
const today = Math.floor(asOf / DAY);
/** Twelve archived days, then a gap, then three hot ones. */
const FIRST = today - 130;
const DAYS = [...Array.from({ length: 12 }, (_, i) => FIRST + i), today - 3, today - 2, today - 1];

const events: StoredEvent[] = [];
const voided = new Set<string>();

beforeAll(async () => {
  // A plain seeded generator: fast-check's samples lean on small values, which would leave days empty.
  let state = 16;
  const rnd = Array.from({ length: 1200 }, () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state >>> 1;
  });
  const seqs = new Map<string, number>();
  for (let i = 0; i < rnd.length; i += 1) {
    const r = rnd[i]!;
    const day = DAYS[(r >>> 12) % DAYS.length]!;
    // A third sit on a quarter-hour or a millisecond either side of one: where edges are cut.
    const ms = i % 3 === 0 ? (r % 96) * 900_000 + ((i % 5) - 1) : r % DAY;
    const t = Math.max(day * DAY, day * DAY + ms);
    const meter = ["fax", "api_call", "storage"][r % 3]!;
    const subjectId = `ap-${(r >>> 4) % 5}`;
    const seq = (seqs.get(subjectId) ?? 0) + 1;
    seqs.set(subjectId, seq);
    events.push({
      id: `evt_ap_${String(i).padStart(5, "0")}`,
      seq,
      subjectId,
      meter,
      unit: meter === "fax" ? "page" : meter === "storage" ? "byte" : "call",
      amountE4: ((r >>> 7) % 40) * 2500,
      operation: meter === "storage" ? (["add", "remove", "set"] as const)[(r >>> 9) % 3]! : "add",
      occurredAt: t,
      receivedAt: t,
      source: "test",
      idempotencyKey: null,
      dimensions: {
        ...((r >>> 16) % 5 === 0 ? {} : { schoolId: `S${(r >>> 18) % 3}` }),
        ...((r >>> 20) % 4 === 0 ? { colour: ["red", "blue"][(r >>> 22) % 2]! } : {}),
      },
      metadata: {},
      ...(i % 13 === 5 ? { voidedAt: 1, voidReason: "p" } : {}),
    });
    if (i % 13 === 5) voided.add(events[i]!.id);
  }
  const stored = events.map(({ voidedAt: _v, voidReason: _r, ...e }) => e);
  for (let i = 0; i < stored.length; i += 400) await insertEventsStatement(env.DB, JSON.stringify(stored.slice(i, i + 400))).run();
  await voidEventsStatement(env.DB, JSON.stringify([...voided].map((id) => ({ id, voidedAt: 1, reason: "p" })))).run();
  // Parts of 25 events: each day's archive is a few objects.
  const archiver = new HistoryArchiver(env.DB, env.HISTORY_ARCHIVE, Date.now, 25);
  for (let after: number | null = 0; after !== null; ) after = (await archiver.archiveNext(asOf, undefined, after)).next;
});

interface Query {
  from: number;
  to: number;
  subjectId?: string | undefined;
  meter?: string | undefined;
  schoolId?: string | undefined;
  colour?: string | undefined;
  includeVoided: boolean;
}

const dimensionFilters = (q: Query) => ({
  ...(q.schoolId ? { schoolId: q.schoolId } : {}),
  ...(q.colour ? { colour: q.colour } : {}),
});

function selected(q: Query): StoredEvent[] {
  return events.filter(
    (e) =>
      e.occurredAt >= q.from &&
      e.occurredAt < q.to &&
      (q.includeVoided || !voided.has(e.id)) &&
      (!q.subjectId || e.subjectId === q.subjectId) &&
      (!q.meter || e.meter === q.meter) &&
      (!q.schoolId || e.dimensions.schoolId === q.schoolId) &&
      (!q.colour || e.dimensions.colour === q.colour),
  );
}

const filters = {
  fromDay: fc.integer({ min: -1, max: 14 }),
  fromQuarter: fc.integer({ min: 0, max: 95 }),
  fromMinute: fc.constantFrom(0, 0, 7),
  days: fc.integer({ min: 0, max: 130 }),
  toMinute: fc.integer({ min: 1, max: 24 * 60 }),
  subjectId: fc.option(fc.constantFrom("ap-1", "ap-3"), { nil: undefined }),
  meter: fc.option(fc.constantFrom("fax", "storage", "api_call"), { nil: undefined }),
  schoolId: fc.option(fc.constantFrom("S1", "S2"), { nil: undefined }),
  colour: fc.option(fc.constantFrom("red"), { nil: undefined }),
  includeVoided: fc.boolean(),
};

function range(q: { fromDay: number; fromQuarter: number; fromMinute: number; days: number; toMinute: number }) {
  const from = (FIRST + q.fromDay) * DAY + q.fromQuarter * 900_000 + q.fromMinute * 60_000;
  return { from, to: Math.min(from + q.days * DAY + q.toMinute * 60_000, (today + 1) * DAY) };
}

function params(q: Query): URLSearchParams {
  const p = new URLSearchParams({ from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() });
  if (q.subjectId) p.set("subjectId", q.subjectId);
  if (q.meter) p.set("meter", q.meter);
  if (q.schoolId) p.set("dimension.schoolId", q.schoolId);
  if (q.colour) p.set("dimension.colour", q.colour);
  if (q.includeVoided) p.set("includeVoided", "true");
  return p;
}

describe("history over archived days", () => {
  it("has moved the old days' counter events to the archive", async () => {
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM usage_events WHERE occurred_at < ? AND meter != 'storage'")
      .bind((FIRST + 12) * DAY)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(0);
    const { results: days } = await env.DB.prepare("SELECT count(*) AS n FROM history_archive_days WHERE state = 'deleted'").all<{
      n: number;
    }>();
    expect(days[0]!.n).toBe(12);
  });

  it("summarises archived ranges exactly: equal to a brute-force model of the raw events (property)", async () => {
    const query = fc.record({
      ...filters,
      groupBy: fc
        .subarray(["meter", "subjectId", "dimension.schoolId", "dimension.colour"], { maxLength: 2 })
        .chain((keys) =>
          fc.constantFrom<string | null>(null, null, "hour", "day", "week", "quarter").map((unit) => (unit ? [...keys, unit] : keys)),
        ),
      tz: fc.constantFrom(...ZONES),
      distinct: fc.option(fc.constantFrom("schoolId", "colour"), { nil: undefined }),
      compare: fc.boolean(),
      sort: fc.option(fc.constantFrom<"total" | "-total">("total", "-total"), { nil: undefined }),
      limit: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(query, async (raw) => {
        const { from, to } = range(raw);
        // At most 990 hours: a bucket is at most an hour long, and a summary has at most 1000.
        const q = { ...raw, from, to: raw.groupBy.includes("hour") ? Math.min(to, from + 990 * 3_600_000) : to };
        const model = { ...q, dimensions: dimensionFilters(q) };
        const res = await api("GET", `/v1/usage/summary?${summaryParams(model)}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.data).toEqual(modelSummary(events, voided, model));
      }),
      { numRuns: 150, seed: 4 },
    );
  });

  it("lists archived and hot days in order across cursor pages, as the raw events would (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ ...filters, limit: fc.integer({ min: 1, max: 60 }) }), async (raw) => {
        const q = { ...raw, ...range(raw) };
        const expected = selected(q)
          .sort((a, b) => b.occurredAt - a.occurredAt || (a.id < b.id ? 1 : -1))
          .map((e) => e.id);
        const ids: string[] = [];
        let cursor: string | null = null;
        do {
          const p = params(q);
          p.set("limit", String(q.limit));
          if (cursor) p.set("cursor", cursor);
          const res: { status: number; body: { data: { id: string }[]; nextCursor: string | null } } = await api("GET", `/v1/usage?${p}`);
          expect(res.status).toBe(200);
          ids.push(...res.body.data.map((e) => e.id));
          cursor = res.body.nextCursor;
        } while (cursor);
        expect(ids).toEqual(expected);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it("refuses a summary that would read more of the archive than its limits, with HISTORY_ARCHIVED", async () => {
    const store = new TieredHistoryStore(new D1HistoryStore(env.DB), env.DB, env.HISTORY_ARCHIVE, { decoded: 100, events: 50 });
    const query = { groupBy: [], dimensions: { colour: "red" }, buckets: null, from: FIRST * DAY, to: (FIRST + 12) * DAY };
    const refused = await store.summarise(query).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: "HISTORY_ARCHIVED" });
    const counted = new TieredHistoryStore(new D1HistoryStore(env.DB), env.DB, env.HISTORY_ARCHIVE, { decoded: 10_000, events: 5 });
    expect(await counted.summarise(query).catch((e: unknown) => e)).toMatchObject({ code: "HISTORY_ARCHIVED" });
    // Whole quarter-hours of archived days come from the rollups: no limit applies.
    const rows = await store.summarise({ groupBy: ["meter"], dimensions: {}, buckets: null, from: FIRST * DAY, to: (FIRST + 12) * DAY });
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(
      selected({ from: FIRST * DAY, to: (FIRST + 12) * DAY, includeVoided: false }).length,
    );
  });
});
