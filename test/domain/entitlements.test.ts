import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  crossedThresholds,
  decide,
  effectiveEntitlements,
  mergeConfiguration,
  type Entitlement,
  type PlanSnapshot,
  type SubjectSettings,
} from "../../src/domain/entitlements";

const hard = (limit: number | null, thresholds = [80, 100]): Entitlement => ({
  limitE4: limit === null ? null : limit * 10_000,
  period: "month",
  enforcement: "hard",
  thresholds,
});

describe("decide", () => {
  it("allows up to the limit exactly", () => {
    expect(decide(90_0000, 10_0000, hard(100))).toMatchObject({ allowed: true, overage: false, remainingE4: 10_0000 });
    expect(decide(90_0000, 10_0001, hard(100))).toMatchObject({ allowed: false, overage: true });
  });

  it("lets soft limits pass with overage and unlimited meters pass always", () => {
    expect(decide(100_0000, 1, { ...hard(100), enforcement: "soft" })).toMatchObject({ allowed: true, overage: true, remainingE4: 0 });
    expect(decide(1e12, 1e12, hard(null))).toMatchObject({ allowed: true, overage: false, limitE4: null, remainingE4: null });
  });
});

describe("crossedThresholds", () => {
  it("reports each threshold a move reaches for the first time", () => {
    expect(crossedThresholds(0, 79_0000, hard(100))).toEqual([]);
    expect(crossedThresholds(79_0000, 80_0000, hard(100))).toEqual([80]);
    expect(crossedThresholds(0, 150_0000, hard(100))).toEqual([80, 100]);
    expect(crossedThresholds(80_0000, 99_0000, hard(100))).toEqual([]);
    expect(crossedThresholds(50_0000, 40_0000, hard(100))).toEqual([]);
    expect(crossedThresholds(0, 5, hard(null))).toEqual([]);
  });

  it("fires every threshold exactly once over any sequence of increments (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }), (steps) => {
        let used = 0;
        const fired: number[] = [];
        for (const step of steps) {
          fired.push(...crossedThresholds(used, used + step * 10_000, hard(100, [25, 50, 80, 100])));
          used += step * 10_000;
        }
        expect(fired).toEqual([25, 50, 80, 100].filter((t) => used >= t * 10_000));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("effectiveEntitlements", () => {
  it("lays overrides over the plan meter by meter", () => {
    const result = effectiveEntitlements(
      {
        fax: { limit: 10, period: "month", enforcement: "hard" },
        api_call: { limit: 5, period: "day", enforcement: "soft", thresholds: [100, 50] },
      },
      { fax: { limit: 20 }, storage: { limit: 1 } },
    );
    expect(result).toEqual({
      fax: { limitE4: 200_000, period: "month", enforcement: "hard", thresholds: [80, 100] },
      api_call: { limitE4: 50_000, period: "day", enforcement: "soft", thresholds: [50, 100] },
      storage: { limitE4: 10_000, period: "month", enforcement: "hard", thresholds: [80, 100] },
    });
  });
});

describe("mergeConfiguration", () => {
  const subject = (version: number, planId: string | null = "p"): SubjectSettings => ({
    planId,
    billingAnchorDay: null,
    overrides: {},
    version,
  });
  const plan = (version: number, limit: number, id = "p"): PlanSnapshot => ({
    id,
    entitlements: { fax: { limit, period: "month", enforcement: "hard" } },
    version,
  });

  it("keeps the newest plan whatever order pushes arrive in (property)", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([1, 2, 3, 4, 5], { minLength: 1 }), (versions) => {
        let state = mergeConfiguration({ subject: null, plan: null }, { subject: subject(1) }).configuration;
        for (const v of versions) state = mergeConfiguration(state, { plan: plan(v, v * 10) }).configuration;
        expect(state.plan?.version).toBe(Math.max(...versions));
      }),
      { numRuns: 200 },
    );
  });

  it("ignores an older subject push and a plan the subject is not on", () => {
    let state = mergeConfiguration({ subject: null, plan: null }, { subject: subject(5), plan: plan(1, 10) }).configuration;
    state = mergeConfiguration(state, { subject: subject(3, null) }).configuration;
    expect(state.subject?.version).toBe(5);
    const merged = mergeConfiguration(state, { plan: plan(9, 99, "other") });
    expect(merged.configuration.plan?.id).toBe("p");
    expect(merged.config.entitlements.fax?.limitE4).toBe(100_000);
  });

  it("drops the plan when the subject leaves it", () => {
    const state = mergeConfiguration({ subject: null, plan: null }, { subject: subject(1), plan: plan(1, 10) }).configuration;
    const { config } = mergeConfiguration(state, { subject: subject(2, null), plan: null });
    expect(config).toEqual({ planId: null, billingAnchorDay: null, entitlements: {} });
  });
});
