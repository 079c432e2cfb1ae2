import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { effectiveEntitlements } from "../../src/domain/entitlements";
import type { GaugeOperation, MeterKind } from "../../src/domain/event-rules";
import type { LedgerEventInput } from "../../src/ledger/contract";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { uniqueSubject } from "../helpers/api";

/** A store over a real Durable Object's SQLite, driven with any event time (the 35-day rule lives in the worker). */
async function withStore<T>(fn: (store: LedgerStore, subjectId: string) => T): Promise<T> {
  const subjectId = uniqueSubject("store");
  return runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) =>
    state.storage.transactionSync(() => {
      const store = new LedgerStore(state.storage.sql);
      store.migrate();
      store.claimSubject(subjectId);
      return fn(store, subjectId);
    }),
  );
}

let n = 0;
function event(meter: string, kind: MeterKind, amount: number, at: number, operation: GaugeOperation = "add"): LedgerEventInput {
  n += 1;
  return {
    idempotencyKey: `k${n}`,
    fingerprint: `f${n}`,
    kind,
    operation,
    subjectId: "ignored",
    meter,
    unit: "u",
    amountE4: amount * 10_000,
    occurredAt: at,
    dimensions: {},
    metadata: {},
    source: "test",
  };
}

const JAN_31 = Date.UTC(2025, 0, 31, 12);
const FEB_10 = Date.UTC(2025, 1, 10);
const MAR_1 = Date.UTC(2025, 2, 1, 0, 0, 1);

describe("ledger store periods", () => {
  it("starts a fresh counter in a new month and keeps the old total (lazy reset)", async () => {
    const { jan, feb, usedInFeb } = await withStore((store, subjectId) => {
      store.apply(subjectId, event("fax", "counter", 4, JAN_31), JAN_31);
      store.apply(subjectId, event("fax", "counter", 2, FEB_10), FEB_10);
      return {
        jan: store.usedE4("fax", "counter", store.windowAt("fax", JAN_31)),
        feb: store.usedE4("fax", "counter", store.windowAt("fax", Date.UTC(2025, 1, 1))),
        usedInFeb: store.usedE4("fax", "counter", store.windowAt("fax", FEB_10)),
      };
    });
    expect([jan, feb, usedInFeb]).toEqual([40_000, 20_000, 20_000]);
  });

  it("follows the subject's anchor day (31st → end of February)", async () => {
    const starts = await withStore((store, subjectId) => {
      const config = {
        planId: null,
        billingAnchorDay: 31,
        entitlements: effectiveEntitlements({ fax: { limit: 10, period: "month", enforcement: "hard" } }, {}),
      };
      store.setConfiguration({ subject: null, plan: null }, config);
      for (const at of [JAN_31, FEB_10, MAR_1]) store.apply(subjectId, event("fax", "counter", 1, at), at);
      return [JAN_31, FEB_10, MAR_1].map((at) => {
        const window = store.windowAt("fax", at);
        const bounds = window.kind === "bounded" ? [window.start, window.end] : [];
        return [...bounds.map((t) => new Date(t).toISOString().slice(0, 10)), store.usedE4("fax", "counter", window) / 10_000];
      });
    });
    expect(starts).toEqual([
      ["2025-01-31", "2025-02-28", 2],
      ["2025-01-31", "2025-02-28", 2],
      ["2025-02-28", "2025-03-31", 1],
    ]);
  });

  it("denies a consume over a hard limit without writing anything", async () => {
    const result = await withStore((store, subjectId) => {
      store.setConfiguration(
        { subject: null, plan: null },
        {
          planId: null,
          billingAnchorDay: null,
          entitlements: effectiveEntitlements({ fax: { limit: 3, period: "month", enforcement: "hard" } }, {}),
        },
      );
      const ok = store.apply(subjectId, event("fax", "counter", 3, FEB_10), FEB_10, "consume");
      const denied = store.apply(subjectId, event("fax", "counter", 1, FEB_10), FEB_10, "consume");
      return { ok: ok.status, denied: denied.status, outbox: store.outbox.size(), keys: store.keys.count() };
    });
    expect(result).toEqual({ ok: "created", denied: "denied", outbox: 1 + 2, keys: 1 });
  });
});

describe("gauges", () => {
  const move = fc.record({
    operation: fc.constantFrom<GaugeOperation>("add", "remove", "set"),
    amount: fc.integer({ min: 0, max: 50 }),
    month: fc.integer({ min: 0, max: 2 }),
  });

  it("never go below zero and match a reference model over any sequence (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(move, { maxLength: 40 }), async (moves) => {
        let level = 0;
        let peak = 0;
        for (const m of moves) {
          level = m.operation === "add" ? level + m.amount : m.operation === "remove" ? Math.max(0, level - m.amount) : m.amount;
          peak = Math.max(peak, level);
        }
        const result = await withStore((store, subjectId) => {
          for (const m of moves) {
            const at = Date.UTC(2025, m.month, 15);
            store.apply(subjectId, event("storage", "gauge", m.amount, at, m.operation), at);
          }
          return { level: store.gaugeLevel("storage"), peaks: store.counters().map((c) => c.peakE4) };
        });
        expect(result.level).toBe(level * 10_000);
        expect(result.level).toBeGreaterThanOrEqual(0);
        if (moves.length > 0) expect(Math.max(...result.peaks)).toBe(peak * 10_000);
      }),
      { numRuns: 1000 },
    );
  });

  it("carry their level into the next period, which remembers its end value and peak", async () => {
    const result = await withStore((store, subjectId) => {
      store.apply(subjectId, event("storage", "gauge", 10, JAN_31), JAN_31);
      store.apply(subjectId, event("storage", "gauge", 4, JAN_31, "remove"), JAN_31);
      store.apply(subjectId, event("storage", "gauge", 1, FEB_10), FEB_10);
      return { counters: store.counters(), used: store.usedE4("storage", "gauge", store.windowAt("storage", FEB_10)) };
    });
    expect(result.used).toBe(7 * 10_000);
    expect(result.counters.map((c) => [c.totalE4 / 10_000, c.peakE4 / 10_000])).toEqual([
      [6, 10],
      [7, 7],
    ]);
  });
});
