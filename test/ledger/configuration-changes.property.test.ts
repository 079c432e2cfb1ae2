import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EntitlementInput, EntitlementOverride } from "../../src/domain/entitlements";
import type { LedgerEventInput } from "../../src/ledger/contract";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { uniqueSubject } from "../helpers/api";

/**
 * Usage follows each event's own time, whatever the configuration does (issue 13 §1): after any
 * sequence of events, plan / period kind / anchor day / override changes and period closings,
 * `used` for the window around any instant equals the sum of the events whose timestamp falls in
 * it — checked against a reference model written independently of src/domain/periods.ts: periods
 * are found by walking day by day to the nearest anchor day, closings by walking day by day.
 */

const DAY = 86_400_000;
const METERS = ["fax", "api"] as const;
type Meter = (typeof METERS)[number];
type Kind = "month" | "day" | "none";
type Span = [number, number];

interface ModelConfig {
  plan: Partial<Record<Meter, { limit: number | null; period: Kind }>> | null;
  overrides: Partial<Record<Meter, { period: Kind }>>;
  anchor: number | null;
}

// ---- the reference model ----

const daysInMonth = (year: number, month0: number) => new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();

/** Whether a UTC day starts a monthly period for the anchor day (clamped to the month's end). */
function startsPeriod(day: number, anchor: number): boolean {
  const date = new Date(day * DAY);
  return date.getUTCDate() === Math.min(anchor, daysInMonth(date.getUTCFullYear(), date.getUTCMonth()));
}

function configuredPeriod(t: number, kind: "month" | "day", anchor: number | null): Span {
  const day = Math.floor(t / DAY);
  if (kind === "day") return [day * DAY, (day + 1) * DAY];
  let first = day;
  while (!startsPeriod(first, anchor ?? 1)) first -= 1;
  let next = day + 1;
  while (!startsPeriod(next, anchor ?? 1)) next += 1;
  return [first * DAY, next * DAY];
}

class Model {
  events: { meter: Meter; at: number; amount: number }[] = [];
  closed = new Map<Meter, Span[]>(METERS.map((m) => [m, []]));
  config: ModelConfig = { plan: null, overrides: {}, anchor: null };

  entitled(meter: Meter): boolean {
    return this.config.plan?.[meter] !== undefined || this.config.overrides[meter] !== undefined;
  }

  kind(meter: Meter): Kind {
    return this.config.overrides[meter]?.period ?? this.config.plan?.[meter]?.period ?? "month";
  }

  /** The window around `t`: all time, the closed span holding it, or the configured period cut to the gap between closed spans. */
  window(meter: Meter, t: number): Span | null {
    const kind = this.kind(meter);
    if (kind === "none") return null;
    const spans = this.closed.get(meter)!;
    const holding = spans.find(([s, e]) => s <= t && t < e);
    if (holding) return holding;
    let [start, end] = configuredPeriod(t, kind, this.config.anchor);
    for (const [s, e] of spans) {
      if (e <= t) start = Math.max(start, e);
      if (s > t) end = Math.min(end, s);
    }
    return [start, end];
  }

  used(meter: Meter, window: Span | null): number {
    return this.events
      .filter((e) => e.meter === meter && (window === null || (e.at >= window[0] && e.at < window[1])))
      .reduce((sum, e) => sum + e.amount, 0);
  }

  /**
   * Closes, in each open gap between closed spans, every window that ended by `asOf`: from the
   * first usage in the gap (and, for entitled meters, from the last closed end or the last
   * configured period that ended), entitled meters every window, others windows with usage.
   */
  close(asOf: number): void {
    for (const meter of METERS) {
      const kind = this.kind(meter);
      if (kind === "none") continue;
      const every = this.entitled(meter);
      const spans = this.closed.get(meter)!;
      const hasUsage = ([s, e]: Span) => this.events.some((x) => x.meter === meter && x.at >= s && x.at < e);
      const gaps: [number | null, number | null][] = [];
      let from: number | null = null;
      for (const [s, e] of spans) {
        if (from === null || s > from) gaps.push([from, s]);
        from = e;
      }
      gaps.push([from, null]);
      for (const [gapStart, gapEnd] of gaps) {
        const inGap = (t: number) => (gapStart === null || t >= gapStart) && (gapEnd === null || t < gapEnd);
        const startDays = this.events.filter((x) => x.meter === meter && inGap(x.at)).map((x) => Math.floor(x.at / DAY));
        if (gapEnd === null && every) {
          if (gapStart !== null) startDays.push(gapStart / DAY);
          else {
            let [s, e] = configuredPeriod(asOf - 1, kind, this.config.anchor);
            if (e > asOf) [s] = configuredPeriod(s - 1, kind, this.config.anchor);
            startDays.push(s / DAY);
          }
        }
        if (startDays.length === 0) continue;
        for (let day = Math.min(...startDays); day * DAY < asOf && (gapEnd === null || day * DAY < gapEnd); day++) {
          const window = this.window(meter, day * DAY)!;
          if (spans.includes(window)) continue;
          if (window[1] > asOf) break;
          if (every || hasUsage(window)) {
            spans.push(window);
            spans.sort((x, y) => x[0] - y[0]);
          }
        }
      }
    }
  }
}

// ---- the operations ----

const kindArb = fc.constantFrom<Kind>("month", "day", "none");
const entitlementArb = fc.record({ limit: fc.option(fc.integer({ min: 1, max: 60 }), { nil: null }), period: kindArb });
const configArb = fc.record({
  plan: fc.option(fc.record({ fax: entitlementArb, api: entitlementArb }, { requiredKeys: [] }), { nil: null }),
  overrides: fc.record({ fax: fc.record({ period: kindArb }), api: fc.record({ period: kindArb }) }, { requiredKeys: [] }),
  anchor: fc.constantFrom(null, 1, 2, 15, 28, 29, 30, 31),
});
const offsetArb = fc.integer({ min: 0, max: 35 * DAY });
const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("record" as const),
      consume: fc.boolean(),
      events: fc.array(fc.record({ meter: fc.constantFrom<Meter>(...METERS), offset: offsetArb, amount: fc.integer({ min: 1, max: 9 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("configure" as const), config: configArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), offset: offsetArb }) },
);
// Starts in January to March of 2023–2029, so 35 days always cross a February, leap (2024, 2028) or not.
const startArb = fc
  .record({
    year: fc.integer({ min: 2023, max: 2029 }),
    month: fc.integer({ min: 0, max: 2 }),
    day: fc.integer({ min: 1, max: 28 }),
    ms: fc.integer({ min: 0, max: DAY - 1 }),
  })
  .map(({ year, month, day, ms }) => Date.UTC(year, month, day) + ms);

function planSnapshot(config: ModelConfig, version: number) {
  if (config.plan === null) return null;
  const entitlements: Record<string, EntitlementInput> = {};
  for (const [meter, e] of Object.entries(config.plan)) entitlements[meter] = { limit: e.limit, period: e.period, enforcement: "soft" };
  return { id: "plan", entitlements, version };
}

describe("usage follows event time under configuration changes", () => {
  it("keeps used = the sum of events in the window, against a reference model (1,000 cases)", async () => {
    const subjectId = uniqueSubject("config-changes");
    await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => {
      const sql = state.storage.sql;
      new LedgerStore(sql).migrate();
      fc.assert(
        fc.property(startArb, fc.array(opArb, { minLength: 1, maxLength: 25 }), (start, ops) => {
          sql.exec(
            "DELETE FROM usage_days; DELETE FROM closed_periods; DELETE FROM fired_thresholds; DELETE FROM outbox; DELETE FROM idempotency_keys; DELETE FROM gauges; DELETE FROM ledger_meta WHERE key != 'schema_version'",
          );
          const store = new LedgerStore(sql);
          store.claimSubject(subjectId);
          const model = new Model();
          const now = start + 35 * DAY;
          let version = 0;
          let n = 0;
          for (const op of ops) {
            if (op.op === "record") {
              const inputs = op.events.map(({ meter, offset, amount }): LedgerEventInput => {
                n += 1;
                model.events.push({ meter, at: start + offset, amount });
                return {
                  idempotencyKey: `k${n}`,
                  fingerprint: `f${n}`,
                  kind: "counter",
                  operation: "add",
                  subjectId,
                  meter,
                  unit: "u",
                  amountE4: amount * 10_000,
                  occurredAt: start + offset,
                  dimensions: {},
                  metadata: {},
                  source: "test",
                  mode: op.consume ? "consume" : "record",
                };
              });
              const outcomes = store.applyAll(subjectId, inputs, now);
              expect(outcomes.map((o) => o.status)).toEqual(inputs.map(() => "created"));
            } else if (op.op === "configure") {
              version += 1;
              model.config = op.config;
              const overrides: Record<string, EntitlementOverride> = { ...op.config.overrides };
              store.configure(
                subjectId,
                {
                  subject: { planId: op.config.plan === null ? null : "plan", billingAnchorDay: op.config.anchor, overrides, version },
                  plan: planSnapshot(op.config, version),
                },
                now,
              );
            } else {
              model.close(start + op.offset);
              store.closePeriods(subjectId, start + op.offset, {}, now);
            }
            for (const meter of METERS) {
              for (const t of [start, start + 9 * DAY + 1, start + 17 * DAY, start + 26 * DAY + 7, now, now + 4 * DAY]) {
                const expected = model.window(meter, t);
                const window = store.windowAt(meter, t);
                const bounds = window.kind === "all-time" ? null : [window.start, window.end];
                expect({ meter, t, bounds }).toEqual({ meter, t, bounds: expected });
                expect({ meter, t, used: store.usedE4(meter, "counter", window) / 10_000 }).toEqual({
                  meter,
                  t,
                  used: model.used(meter, expected),
                });
              }
            }
          }
        }),
        { numRuns: 1000 },
      );
    });
  }, 300_000);
});
