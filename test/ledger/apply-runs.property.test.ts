import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SubjectConfig } from "../../src/domain/entitlements";
import type { LedgerEventInput, RecordOutcome } from "../../src/ledger/contract";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { uniqueSubject } from "../helpers/api";

const JAN_31 = Date.UTC(2025, 0, 31, 12);
const FEB_10 = Date.UTC(2025, 1, 10);
const NOW = FEB_10 + 1000;

const CONFIG: SubjectConfig = {
  planId: "p",
  billingAnchorDay: null,
  entitlements: {
    fax: { limitE4: 40 * 10_000, period: "month", enforcement: "hard", thresholds: [50, 80, 100] },
    api: { limitE4: null, period: "month", enforcement: "soft", thresholds: [] },
  },
};

const step = fc.record({
  meter: fc.constantFrom("fax", "api", "storage"),
  amount: fc.integer({ min: 1, max: 9 }),
  key: fc.option(fc.integer({ min: 0, max: 12 }), { nil: null }),
  variant: fc.integer({ min: 0, max: 3 }),
  consume: fc.boolean(),
  at: fc.constantFrom(JAN_31, FEB_10),
  operation: fc.constantFrom("add" as const, "remove" as const, "set" as const),
});
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function toInput(s: Step, subjectId: string): LedgerEventInput {
  const gauge = s.meter === "storage";
  // Two steps with one key and one variant stand for the same body, so they carry the same fingerprint.
  const body = gauge ? `${s.meter}|${s.operation}|${s.amount}` : `${s.meter}|${s.amount}|${s.at}`;
  return {
    idempotencyKey: s.key === null ? null : `key-${s.key}`,
    fingerprint: s.variant === 0 ? body : `${body}|${s.variant}`,
    kind: gauge ? "gauge" : "counter",
    operation: gauge ? s.operation : "add",
    subjectId,
    meter: s.meter,
    unit: "u",
    amountE4: s.amount * 10_000,
    occurredAt: gauge ? FEB_10 : s.at,
    dimensions: {},
    metadata: {},
    source: "test",
    mode: s.consume && !gauge ? "consume" : "record",
  };
}

/** Applies the steps in a fresh ledger, in chunks of the given sizes (1 = one event per call). */
async function run(steps: Step[], chunks: number[]) {
  const subjectId = uniqueSubject("runs");
  return runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) =>
    state.storage.transactionSync(() => {
      const store = new LedgerStore(state.storage.sql);
      store.migrate();
      store.claimSubject(subjectId);
      store.setConfiguration({ subject: null, plan: null }, CONFIG);
      const inputs = steps.map((s) => toInput(s, subjectId));
      const outcomes: RecordOutcome[] = [];
      let at = 0;
      for (let c = 0; at < inputs.length; c++) {
        const size = chunks[c % chunks.length]!;
        outcomes.push(...store.applyAll(subjectId, inputs.slice(at, at + size), NOW));
        at += size;
      }
      return { subjectId, outcomes, counters: store.counters(), outbox: store.outbox.peek(100_000, 1e9).entries };
    }),
  );
}

/**
 * Outcomes and outbox with the subject, random event and notification ids and event sequence
 * numbers replaced by the index of the step that created the event. Runs leave other gaps in the
 * sequence than single calls; the order is what must agree, and it is checked here.
 */
function normalise({ subjectId, outcomes, counters, outbox }: Awaited<ReturnType<typeof run>>) {
  const origin = new Map<string, number>();
  const seqOrigin = new Map<number, number>();
  outcomes.forEach((o, i) => {
    if (o.status === "created") origin.set(o.event.id, i);
    if (o.status === "created") seqOrigin.set(o.event.seq!, i);
  });
  const seqs = outcomes.flatMap((o) => (o.status === "created" ? [o.event.seq!] : []));
  expect(seqs.every(Number.isInteger)).toBe(true);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);
  const replaced = (text: string) =>
    text
      .replace(/evt_[0-9a-f]{32}/g, (id) => `event#${origin.get(id)}`)
      .replace(/"seq":(\d+)/g, (_, seq: string) => `"seq":"of#${seqOrigin.get(Number(seq))}"`)
      .replace(/ntf_[0-9a-f]{32}/g, "ntf")
      .replaceAll(subjectId, "subject");
  return {
    outcomes: outcomes.map((o) => ({
      status: o.status,
      event: "event" in o ? origin.get(o.event.id) : null,
      allowed: o.decision?.allowed ?? null,
    })),
    counters,
    outbox: outbox.map((e) => `${e.kind} ${replaced(e.body)}`).sort(),
  };
}

/** What each step should come to, written out longhand: keys remembered, hard limit 40 on fax per month. */
function expectedStatuses(steps: Step[], subjectId: string): RecordOutcome["status"][] {
  const keys = new Map<string, string>();
  const totals = new Map<string, number>();
  return steps.map((s) => {
    const input = toInput(s, subjectId);
    if (input.idempotencyKey !== null && keys.has(input.idempotencyKey)) {
      return keys.get(input.idempotencyKey) === input.fingerprint ? "duplicate" : "conflict";
    }
    const month = new Date(s.at).getUTCMonth();
    const total = totals.get(`${s.meter}${month}`) ?? 0;
    if (input.mode === "consume" && s.meter === "fax" && total + s.amount > 40) return "denied";
    if (s.meter !== "storage") totals.set(`${s.meter}${month}`, total + s.amount);
    if (input.idempotencyKey !== null) keys.set(input.idempotencyKey, input.fingerprint);
    return "created";
  });
}

describe("applying events in runs", () => {
  it("gives the same outcomes, counters, notifications and outbox as applying them one by one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 5 }),
        async (steps, chunks) => {
          const oneByOne = normalise(await run(steps, [1]));
          const inRuns = normalise(await run(steps, chunks));
          expect(inRuns).toEqual(oneByOne);
          expect(oneByOne.outcomes.map((o) => o.status)).toEqual(expectedStatuses(steps, "s"));
          // And the counters are the sum of what was created, per meter and month.
          const created = oneByOne.outcomes.flatMap((o, i) => (o.status === "created" && steps[i]!.meter !== "storage" ? [steps[i]!] : []));
          for (const counter of oneByOne.counters.filter((c) => c.meter !== "storage")) {
            const mine = created.filter((s) => s.meter === counter.meter && s.at >= counter.periodStart && s.at < counter.periodEnd);
            expect(counter.totalE4).toBe(mine.reduce((sum, s) => sum + s.amount * 10_000, 0));
            expect(counter.eventCount).toBe(mine.length);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
