import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { SubjectConfig } from "../../src/domain/entitlements";
import type { LedgerEventInput } from "../../src/ledger/contract";
import { flushOutbox } from "../../src/ledger/history-flush";
import { IDEMPOTENCY_RETENTION_MS } from "../../src/ledger/idempotency-keys";
import { RowsWrittenMeter } from "../../src/ledger/ledger-metrics";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { SubjectLedger } from "../../src/ledger/subject-ledger";
import { uniqueSubject } from "../helpers/api";
import { counterInput } from "../helpers/ledger-inputs";

const CONFIG: SubjectConfig = {
  planId: "p",
  billingAnchorDay: null,
  entitlements: { fax: { limitE4: 1_000_000 * 10_000, period: "month", enforcement: "hard", thresholds: [80, 100] } },
};

function input(subjectId: string, meter: string, key: string, mode: "record" | "consume" = "record"): LedgerEventInput {
  return counterInput(subjectId, key, {
    meter,
    fingerprint: `${meter}|${key}`,
    unit: "u",
    dimensions: { schoolId: "s1" },
    source: "batch",
    mode,
  });
}

interface Cost {
  /** Rows the ledger call's transaction wrote. */
  call: number;
  /** Rows the flush that took the call's outbox to D1 wrote in the ledger (outbox removal). */
  flush: number;
  /** Rows the idempotency purge writes per key once it is past retention. */
  purgePerKey: number;
  perEvent: number;
}

/**
 * Ledger SQLite rows written per event, counted from each statement's `rowsWritten`: the call, the
 * flush of its outbox, and the purge of its idempotency keys 40 days later. Deterministic, so exact.
 */
async function cost(events: (subjectId: string) => LedgerEventInput[]): Promise<Cost> {
  const subjectId = uniqueSubject("rows");
  return runInDurableObject(env.LEDGER.getByName(subjectId), async (_instance, state) => {
    const meter = new RowsWrittenMeter();
    const store = new LedgerStore(meter.wrap(state.storage.sql));
    store.migrate();
    state.storage.transactionSync(() => {
      store.claimSubject(subjectId);
      store.setConfiguration({ subject: null, plan: null }, CONFIG);
    });
    // Warm: the first call of a subject binds it and opens its days; measure a steady call.
    state.storage.transactionSync(() => store.applyAll(subjectId, [input(subjectId, "fax", "warm")], Date.now()));
    await flushOutbox(store.outbox, subjectId, env);
    meter.take();

    const inputs = events(subjectId);
    state.storage.transactionSync(() => store.applyAll(subjectId, inputs, Date.now()));
    const call = meter.take();
    await flushOutbox(store.outbox, subjectId, env);
    const flush = meter.take();

    // Every event has a key, so the purge costs each event its share of the rows it writes.
    state.storage.sql.exec("UPDATE idempotency_keys SET created_at = created_at - ?", IDEMPOTENCY_RETENTION_MS + 2 * 86_400_000);
    const later = new LedgerStore(meter.wrap(state.storage.sql));
    const keys = later.keys.count();
    later.keys.purge(Date.now());
    const purgePerKey = meter.take() / keys;
    expect(later.keys.count()).toBe(0);
    return { call, flush, purgePerKey, perEvent: Math.round(((call + flush) / inputs.length + purgePerKey) * 1000) / 1000 };
  });
}

describe("ledger rows written per event", () => {
  it("a 1,000-event batch over 3 meters", async () => {
    const meters = ["fax", "api_call", "sms"];
    const result = await cost((s) => Array.from({ length: 1000 }, (_, i) => input(s, meters[i % 3]!, `b${i}`)));
    expect(result).toEqual({ call: 1005, flush: 1, purgePerKey: 1, perEvent: 2.006 });
  });

  it("a 10-event call", async () => {
    const result = await cost((s) => Array.from({ length: 10 }, (_, i) => input(s, "fax", `t${i}`)));
    expect(result).toEqual({ call: 13, flush: 1, purgePerKey: 1, perEvent: 2.4 });
  });

  it("a single event", async () => {
    const result = await cost((s) => [input(s, "fax", "one")]);
    expect(result).toEqual({ call: 4, flush: 1, purgePerKey: 1, perEvent: 6 });
  });

  it("a consume", async () => {
    const result = await cost((s) => [input(s, "fax", "c", "consume")]);
    expect(result).toEqual({ call: 4, flush: 1, purgePerKey: 1, perEvent: 6 });
  });
});

describe("METRICS_LOG", () => {
  it("logs rows written per ledger call and per flush when on", async () => {
    const subjectId = uniqueSubject("metrics");
    const lines = await runInDurableObject(env.LEDGER.getByName(subjectId), async (_instance, state) => {
      const logged: string[] = [];
      const spy = vi.spyOn(console, "log").mockImplementation((line: string) => void logged.push(line));
      try {
        const ledger = new SubjectLedger(state, { ...env, METRICS_LOG: "true" });
        await ledger.record(subjectId, [input(subjectId, "fax", "m1"), input(subjectId, "fax", "m2")]);
        await ledger.alarm();
      } finally {
        spy.mockRestore();
      }
      return logged.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => String(l.message).startsWith("metrics."));
    });
    const pick = ({ message, events, rowsWritten, entries, d1RowsWritten }: Record<string, unknown>) =>
      JSON.parse(JSON.stringify({ message, events, rowsWritten, entries, d1RowsWritten }));
    expect(lines.map(pick)).toEqual([
      { message: "metrics.ledger_call", events: 2, rowsWritten: expect.any(Number) },
      { message: "metrics.history_flush", entries: 2, events: 2 },
      { message: "metrics.ledger_call", events: 0, rowsWritten: 1 },
    ]);
  });
});
