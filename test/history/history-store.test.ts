import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../../src/domain/stored-event";
import { bucketsBetween } from "../../src/domain/time-buckets";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { historyBackend, historyStore } from "../../src/history/history-store";
import { withPostgres } from "../../src/history/postgres-connection";
import { startHistoryArchive } from "../../src/services/start-history-archive";
import worker from "../../src/index";
import { SERVICE_KEY } from "../helpers/api";
import { uniqueSubject } from "../helpers/api";
import { historyRows, voidInHistory, writeHistory } from "../helpers/history";

// The store's own contract, run on D1 (workers) and on PostgreSQL (workers-postgres, `npm run test:postgres`):
// what the routes' tests cannot reach: values no API call produces, forged cursors, far-apart months.

const store = () => historyStore(env);
const MINUTE = 60_000;

function event(subjectId: string, n: number, overrides: Partial<StoredEvent> = {}): StoredEvent {
  return {
    id: `evt_store_${subjectId}_${String(n).padStart(4, "0")}`,
    seq: n,
    subjectId,
    meter: "api_call",
    unit: "call",
    amountE4: 10_000,
    operation: "add",
    occurredAt: Date.UTC(2026, 10, 1) + n * MINUTE,
    receivedAt: Date.UTC(2026, 10, 1) + n * MINUTE + 5,
    source: "batch",
    idempotencyKey: `k-${n}`,
    dimensions: {},
    metadata: {},
    ...overrides,
  };
}

/** What a read answers for a written event: history adds the void marks. */
const stored = (e: StoredEvent, voided: { at: number; reason: string } | null = null) => ({
  ...e,
  voidedAt: voided?.at ?? null,
  voidReason: voided?.reason ?? null,
});

describe("history store", () => {
  it("keeps an event written twice once, and its first void only", async () => {
    const subjectId = uniqueSubject("store-once");
    const events = [event(subjectId, 1), event(subjectId, 2)];
    await writeHistory(events);
    await writeHistory(events);
    expect(await historyRows(subjectId)).toBe(2);

    await voidInHistory(events[0]!.id, 1_000, "first");
    await voidInHistory(events[0]!.id, 2_000, "second");
    expect(await store().find(events[0]!.id)).toEqual(stored(events[0]!, { at: 1_000, reason: "first" }));
    // Replays see the event as its ledger sent it: no void marks.
    expect(await store().findLedgerEvents([events[0]!.id, "evt_unknown"])).toEqual([events[0]]);
    expect(await store().list({ subjectId }, 10)).toEqual([stored(events[1]!)]);
    expect(await store().list({ subjectId, includeVoided: true }, 10, undefined, "oldest")).toEqual([
      stored(events[0]!, { at: 1_000, reason: "first" }),
      stored(events[1]!),
    ]);
  });

  it("gives back hostile text exactly, and filters and groups on it", async () => {
    const subjectId = uniqueSubject("store-text");
    const texts = ["nul\u0000inside", 'quote " and \\ backslash', "__proto__", "constructor", "😀 astral", "é".repeat(256), ""];
    const events = texts.map((text, i) =>
      event(subjectId, i, {
        unit: text || "u",
        idempotencyKey: text || null,
        source: "webhook:telnyx",
        dimensions: { ["__proto__"]: text, constructor: `c${i}`, itemType: text },
        metadata: { text, nested: { toString: text, list: [text, null, 1.5, true] } },
        grantDraws: i % 2 === 0 ? [{ grantId: `g_${i}`, amountE4: 5_000 }] : [],
      }),
    );
    await writeHistory(events);
    await voidInHistory(events[1]!.id, 7, "reason with \u0000 and 'quotes'");
    const all = await store().list({ subjectId, includeVoided: true }, 100, undefined, "oldest");
    expect(all).toEqual(events.map((e, i) => stored(e, i === 1 ? { at: 7, reason: "reason with \u0000 and 'quotes'" } : null)));
    for (const [i, text] of texts.entries()) {
      expect(await store().find(events[i]!.id)).toEqual(all[i]);
      const filtered = await store().list({ subjectId, includeVoided: true, dimensions: { ["__proto__"]: text } }, 100);
      expect(filtered.map((e) => e.id)).toEqual([events[i]!.id]);
    }
    const byItem = await store().summarise({
      groupBy: ["dimension.itemType"],
      subjectId,
      dimensions: {},
      buckets: null,
      includeVoided: true,
    });
    expect(byItem.map((r) => r.keys["dimension.itemType"]).sort()).toEqual([...texts].sort());
  });

  it("pages past forged cursors as past the nearest real id", async () => {
    const subjectId = uniqueSubject("store-cursor");
    const at = Date.UTC(2026, 10, 2);
    const ids = ["a", "ab", "ab\u0001", "abc", "b"];
    const events = ids.map((id, i) => event(subjectId, i, { id: `evt_${subjectId}_${id}`, occurredAt: at }));
    await writeHistory(events);
    const sorted = events.map((e) => e.id).sort();
    for (const cursorId of [
      ...sorted,
      `evt_${subjectId}_ab\u0000`,
      `evt_${subjectId}_ab\u0000z`,
      `evt_${subjectId}_`,
      `evt_${subjectId}_\u0000`,
    ]) {
      const newest = await store().list({ subjectId }, 100, { occurredAt: at, id: cursorId }, "newest");
      const oldest = await store().list({ subjectId }, 100, { occurredAt: at, id: cursorId }, "oldest");
      expect(
        newest.map((e) => e.id),
        JSON.stringify(cursorId),
      ).toEqual(sorted.filter((id) => id < cursorId).reverse());
      expect(
        oldest.map((e) => e.id),
        JSON.stringify(cursorId),
      ).toEqual(sorted.filter((id) => id > cursorId));
    }
    expect(await store().find(`evt_${subjectId}_a\u0000`)).toBeNull();
  });

  it("lists, finds and sums events in far-apart months, newest first, with the largest amounts", async () => {
    const subjectId = uniqueSubject("store-months");
    const times = [0, 1, Date.UTC(2019, 0, 31, 23, 59, 59, 999), Date.UTC(2026, 1, 28), Date.UTC(2030, 11, 31, 23, 59)];
    const events = times.map((occurredAt, i) =>
      event(subjectId, i, { occurredAt, receivedAt: occurredAt, amountE4: 1_000_000_000_000_000 }),
    );
    await writeHistory(events);
    expect((await store().list({ subjectId }, 10)).map((e) => e.occurredAt)).toEqual([...times].reverse());
    for (const e of events) expect(await store().find(e.id)).toEqual(stored(e));
    const byMonth = await store().summarise({
      groupBy: ["month"],
      subjectId,
      dimensions: {},
      from: 0,
      to: Date.UTC(2031, 0, 1),
      buckets: bucketsBetween(0, Date.UTC(2031, 0, 1), "month", "UTC"),
    });
    // Stores answer in no particular order (the service orders rows: src/domain/summary-report.ts).
    expect(byMonth.sort((a, b) => (a.keys.month! < b.keys.month! ? -1 : 1))).toEqual([
      { keys: { month: "1970-01-01" }, totalE4: 2_000_000_000_000_000, count: 2, subjects: 1 },
      { keys: { month: "2019-01-01" }, totalE4: 1_000_000_000_000_000, count: 1, subjects: 1 },
      { keys: { month: "2026-02-01" }, totalE4: 1_000_000_000_000_000, count: 1, subjects: 1 },
      { keys: { month: "2030-12-01" }, totalE4: 1_000_000_000_000_000, count: 1, subjects: 1 },
    ]);
    const inRange = await store().list({ subjectId, from: Date.UTC(2019, 0, 1), to: Date.UTC(2026, 2, 1) }, 10, undefined, "oldest");
    expect(inRange.map((e) => e.occurredAt)).toEqual([times[2], times[3]]);
  });

  it("answers recalculation's day totals and gauge moves as a model of the events computes them", async () => {
    const moveArb = fc.record({
      meter: fc.constantFrom("api_call", "fax", "storage"),
      operation: fc.constantFrom("add", "remove", "set"),
      amount: fc.integer({ min: 0, max: 1_000 }),
      day: fc.integer({ min: 0, max: 40 }),
      voided: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(moveArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 40 }), async (moves, fromOffset) => {
        const subjectId = uniqueSubject("store-recalc");
        const start = Date.UTC(2026, 9, 1);
        // Written in a scrambled order: the sequence, not arrival, is the ledger's order.
        const events = moves.map((m, i) =>
          event(subjectId, i + 1, {
            meter: m.meter,
            operation: m.meter === "storage" ? m.operation : "add",
            amountE4: m.amount * 10_000,
            occurredAt: start + m.day * 86_400_000 + i,
          }),
        );
        await writeHistory([...events].reverse());
        for (const [i, m] of moves.entries()) if (m.voided) await voidInHistory(events[i]!.id, 1, "model");
        const standing = events.filter((_, i) => !moves[i]!.voided);
        const fromDay = Math.floor(start / 86_400_000) + fromOffset;

        const days = new Map<string, { meter: string; day: number; totalE4: number; eventCount: number }>();
        for (const e of standing.filter((e) => e.meter !== "storage" && Math.floor(e.occurredAt / 86_400_000) >= fromDay)) {
          const day = Math.floor(e.occurredAt / 86_400_000);
          const row = days.get(`${e.meter}/${day}`) ?? { meter: e.meter, day, totalE4: 0, eventCount: 0 };
          row.totalE4 += e.amountE4;
          row.eventCount += 1;
          days.set(`${e.meter}/${day}`, row);
        }
        const expectedDays = [...days.values()].sort((a, b) => (a.meter === b.meter ? a.day - b.day : a.meter < b.meter ? -1 : 1));
        expect(await store().counterDays(subjectId, ["storage"], fromDay)).toEqual(expectedDays);
        expect(await store().gaugeMoves(subjectId, ["storage"])).toEqual(
          standing
            .filter((e) => e.meter === "storage")
            .map((e) => ({ meter: e.meter, operation: e.operation, amountE4: e.amountE4, occurredAt: e.occurredAt })),
        );
      }),
      { numRuns: 25 },
    );
  });

  it("is chosen by HISTORY_BACKEND, and any other value is a configuration error, never D1 by default", async () => {
    for (const setting of [undefined, "", "d1"]) expect(historyBackend(setting)).toBe("d1");
    expect(historyBackend("postgres")).toBe("postgres");
    for (const setting of ["D1", "Postgres", "pg", " postgres", "__proto__", "constructor", "d1\u0000"]) {
      expect(() => historyBackend(setting), JSON.stringify(setting)).toThrow(/HISTORY_BACKEND must be/);
    }
    const call = async (vars: Partial<Env>) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch!(
        new Request("https://tally.test/v1/usage?limit=1", { headers: { authorization: `Bearer ${SERVICE_KEY}` } }) as Request<
          unknown,
          IncomingRequestCfProperties
        >,
        { ...env, ...vars },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    };
    expect(await call({ HISTORY_BACKEND: "pg" })).toMatchObject({ status: 500, body: { error: { code: "CONFIGURATION_ERROR" } } });
    expect(await call({ HISTORY_BACKEND: "postgres", HISTORY_DB: undefined })).toMatchObject({
      status: 500,
      body: { error: { code: "CONFIGURATION_ERROR" } },
    });
  });

  it("is archived to R2 only when it lives in D1 (PostgreSQL's old months are partitions)", async () => {
    expect(await startHistoryArchive(env, Date.now())).toBe(env.HISTORY_BACKEND !== "postgres");
  });

  it.skipIf(env.HISTORY_BACKEND !== "postgres")(
    "keeps PostgreSQL's rollups equal to a rebuild from the events through inserts, repeats and voids (property)",
    async () => {
      const tables = [
        "usage_rollup_slots",
        "usage_rollup_dimension_slots",
        "usage_rollup_subject_days",
        "usage_rollup_dimension_subject_days",
      ];
      const snapshot = () =>
        withPostgres(env.HISTORY_DB!, async (query) => {
          const out: Record<string, unknown[]> = {};
          for (const table of tables) out[table] = await query(`SELECT * FROM ${table} AS t ORDER BY t::text`);
          return out;
        });
      const eventArb = fc.record({
        subject: fc.integer({ min: 0, max: 3 }),
        meter: fc.constantFrom("api_call", "storage"),
        operation: fc.constantFrom("add", "remove", "set"),
        amount: fc.integer({ min: 0, max: 50 }),
        minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
        school: fc.option(fc.constantFrom("S1", "S\u0000", ""), { nil: undefined }),
        voided: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 25 }), async (specs) => {
          const run = uniqueSubject("rollups");
          const events = specs.map((e, i) =>
            event(`${run}-${e.subject}`, i, {
              meter: e.meter,
              operation: e.meter === "storage" ? e.operation : "add",
              amountE4: e.amount * 10_000,
              occurredAt: Date.UTC(2026, 8, 1) + e.minute * MINUTE,
              dimensions: e.school === undefined ? {} : { schoolId: e.school },
            }),
          );
          await writeHistory(events);
          await writeHistory(events.slice(0, 5));
          for (const [i, e] of specs.entries()) if (e.voided) await voidInHistory(events[i]!.id, 1, "property");
          const kept = await snapshot();
          await withPostgres(env.HISTORY_DB!, (query) => query("SELECT tally_rebuild_rollups()"));
          expect(kept).toEqual(await snapshot());
        }),
        {
          numRuns: 20,
          // A void that leaves its subject-day standing on another quarter of the day.
          examples: [
            [
              [
                { subject: 0, meter: "api_call", operation: "add", amount: 1, minute: 0, school: "S1", voided: true },
                { subject: 0, meter: "api_call", operation: "add", amount: 2, minute: 30, school: "S1", voided: false },
                { subject: 0, meter: "api_call", operation: "add", amount: 2, minute: 13 * 60, school: "S1", voided: true },
              ],
            ],
          ],
        },
      );
    },
  );
});
