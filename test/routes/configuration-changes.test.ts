import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { periodContaining } from "../../src/domain/periods";
import { api, flushLedger, uniqueSubject } from "../helpers/api";

/** Issue 13 §1 repros: usage follows each event's time, whatever the configuration does. */

const DAY = 86_400_000;

async function putPlan(planId: string, entitlements: Record<string, unknown>) {
  const res = await api("PUT", `/v1/plans/${planId}`, { body: { entitlements } });
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
}

async function putSubject(subjectId: string, body: Record<string, unknown>) {
  const res = await api("PUT", `/v1/subjects/${subjectId}`, { body });
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
}

async function row(subjectId: string, meter: string) {
  const res = await api("GET", `/v1/subjects/${subjectId}/entitlements`);
  expect(res.status).toBe(200);
  return res.body.data.find((r: { meter: string }) => r.meter === meter);
}

async function notifications(subjectId: string) {
  await flushLedger(subjectId);
  const { results } = await env.DB.prepare("SELECT type, payload FROM notifications WHERE subject_id = ? ORDER BY created_at, id")
    .bind(subjectId)
    .all<{ type: string; payload: string }>();
  return results.map((r): Record<string, any> => ({ type: r.type, ...JSON.parse(r.payload) }));
}

describe("configuration changes after usage exists", () => {
  it("keeps used when a plan and an anchor day are set after usage (the anchor_cust repro)", async () => {
    await putPlan("tiny", { fax: { limit: 5, period: "month", enforcement: "hard" } });
    const subjectId = uniqueSubject("anchor_cust");
    for (let i = 0; i < 5; i++) {
      expect((await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 10, idempotencyKey: `f${i}` } })).status).toBe(201);
    }
    expect(await row(subjectId, "fax")).toMatchObject({ used: 50 });
    await putSubject(subjectId, { planId: "tiny", billingAnchorDay: 15 });
    const period = periodContaining(Date.now(), "month", 15);
    expect(await row(subjectId, "fax")).toMatchObject({
      used: 50,
      limit: 5,
      remaining: 0,
      periodStart: new Date(period.start).toISOString(),
      periodEnd: new Date(period.end).toISOString(),
    });
    const consume = await api("POST", `/v1/subjects/${subjectId}/entitlements/fax/consume`, { body: { amount: 5 } });
    expect(consume.status).toBe(402);
    expect(consume.body.error.details).toMatchObject({ allowed: false, used: 50, limit: 5 });
  });

  it("keeps the README quick start's usage when user_42 gets the Pro plan and anchor 31", async () => {
    await putPlan("pro-quickstart", {
      fax: { limit: 500, period: "month", enforcement: "hard" },
      storage: { limit: 5e9, period: "none", enforcement: "hard" },
    });
    const subjectId = uniqueSubject("user_42");
    await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 3, idempotencyKey: "fax-8812" } });
    await putSubject(subjectId, { planId: "pro-quickstart", billingAnchorDay: 31, overrides: { fax: { limit: 1000 } } });
    expect(await row(subjectId, "fax")).toMatchObject({ used: 3, limit: 1000, remaining: 997 });
    expect(await row(subjectId, "storage")).toMatchObject({ used: 0, period: "none", periodStart: null, periodEnd: null });
  });

  it("follows switches between month, day and all-time periods and anchor days, through plans and overrides", async () => {
    const subjectId = uniqueSubject("switch");
    const now = Date.now();
    const times = [now - 20 * DAY, now - 10 * DAY, now - 2 * DAY - 3_600_000, now - 60_000];
    for (const [i, at] of times.entries()) {
      const res = await api("POST", "/v1/usage", {
        body: { subjectId, meter: "fax", amount: i + 1, idempotencyKey: `s${i}`, timestamp: new Date(at).toISOString() },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const sumIn = (start: number | null, end: number | null) =>
      times.reduce((sum, at, i) => (start === null || end === null || (at >= start && at < end) ? sum + i + 1 : sum), 0);
    const steps: [string, () => Promise<void>, "month" | "day" | "none", number][] = [
      ["month plan, anchor 7", async () => putPlanAndSubject({ period: "month" }, { billingAnchorDay: 7 }), "month", 7],
      ["day plan", async () => putPlanAndSubject({ period: "day" }, {}), "day", 7],
      ["all-time plan", async () => putPlanAndSubject({ period: "none" }, {}), "none", 7],
      ["month plan, calendar", async () => putPlanAndSubject({ period: "month" }, { billingAnchorDay: null }), "month", 1],
      ["override to day", async () => putSubject(subjectId, { overrides: { fax: { period: "day" } } }), "day", 1],
      ["override to all time", async () => putSubject(subjectId, { overrides: { fax: { period: "none" } } }), "none", 1],
      ["override off, anchor 28", async () => putSubject(subjectId, { overrides: {}, billingAnchorDay: 28 }), "month", 28],
    ];
    async function putPlanAndSubject(fax: Record<string, unknown>, subject: Record<string, unknown>) {
      await putPlan(`switch-${subjectId}`, { fax: { limit: 1000, ...fax } });
      await putSubject(subjectId, { planId: `switch-${subjectId}`, ...subject });
    }
    for (const [name, change, kind, anchor] of steps) {
      await change();
      const fax = await row(subjectId, "fax");
      const period = kind === "none" ? null : periodContaining(Date.now(), kind, anchor);
      expect({ name, period: fax.period, start: fax.periodStart, end: fax.periodEnd }).toEqual({
        name,
        period: kind,
        start: period && new Date(period.start).toISOString(),
        end: period && new Date(period.end).toISOString(),
      });
      expect({ name, used: fax.used }).toEqual({ name, used: sumIn(period?.start ?? null, period?.end ?? null) });
    }
  });

  it("notifies thresholds that usage already reaches when a plan or limit changes, once per limit", async () => {
    const subjectId = uniqueSubject("reach");
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 85, idempotencyKey: "a" } });
    await putPlan(`reach-${subjectId}`, { api_call: { limit: 100 } });
    await putSubject(subjectId, { planId: `reach-${subjectId}` });
    await putPlan(`reach-${subjectId}`, { api_call: { limit: 50 } });
    await putPlan(`reach-${subjectId}`, { api_call: { limit: 100 } });
    const fired = (await notifications(subjectId)).map((n) => [n.type, n.threshold, n.limit, n.eventId]);
    // One PUT's notifications share a time; their order among themselves is not defined.
    expect(fired.sort((a, b) => String(a).localeCompare(String(b)))).toEqual([
      ["entitlement.limit_reached", 100, 50, null],
      ["entitlement.threshold_reached", 80, 100, null],
      ["entitlement.threshold_reached", 80, 50, null],
    ]);
  });
});

describe("all-time limits", () => {
  it("take a subject from 0 past its limit through record, consume and gauge moves: 2xx then 402, never 5xx, each notification once", async () => {
    await putPlan("lifetime", {
      fax: { limit: 10, period: "none", enforcement: "hard" },
      storage: { limit: 100, period: "none", enforcement: "hard" },
    });
    const subjectId = uniqueSubject("lifetime");
    await putSubject(subjectId, { planId: "lifetime" });
    const statuses: number[] = [];
    const call = async (method: string, path: string, body: unknown) => {
      const res = await api(method, path, { body });
      statuses.push(res.status);
      return res;
    };
    const base = `/v1/subjects/${subjectId}`;
    await call("POST", "/v1/usage", { subjectId, meter: "fax", amount: 4, idempotencyKey: "r1" });
    await call("POST", "/v1/usage", { subjectId, meter: "fax", amount: 4, idempotencyKey: "r2" }); // 8: 80 %
    expect((await call("POST", `${base}/entitlements/fax/consume`, { amount: 2, idempotencyKey: "c1" })).status).toBe(200); // 10: 100 %
    expect((await call("POST", `${base}/entitlements/fax/consume`, { amount: 1, idempotencyKey: "c2" })).status).toBe(402);
    const batch = await call("POST", "/v1/usage/batch", {
      events: [
        { subjectId, meter: "fax", amount: 3, idempotencyKey: "b1" },
        { subjectId, meter: "api_call", amount: 1, idempotencyKey: "b2" },
      ],
    });
    expect(batch.body.results.map((r: { status: string }) => r.status)).toEqual(["created", "created"]);
    await call("POST", `${base}/meters/storage/increment`, { amount: 50 });
    await call("POST", `${base}/meters/storage/increment`, { amount: 40 }); // 90: 80 %
    await call("POST", `${base}/meters/storage/increment`, { amount: 20 }); // 110: 100 %
    expect((await call("POST", `${base}/entitlements/storage/consume`, { amount: 1 })).status).toBe(402);
    await call("POST", `${base}/meters/storage/decrement`, { amount: 30 });
    await call("PUT", `${base}/meters/storage`, { value: 120 });
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 402)).toHaveLength(2);

    expect(await row(subjectId, "fax")).toMatchObject({
      used: 13,
      limit: 10,
      remaining: 0,
      period: "none",
      periodStart: null,
      periodEnd: null,
    });
    expect(await row(subjectId, "storage")).toMatchObject({ used: 120, period: "none", periodStart: null, periodEnd: null });
    const fired = await notifications(subjectId);
    expect(fired.map((n) => [n.type, n.meter, n.threshold])).toEqual([
      ["entitlement.threshold_reached", "fax", 80],
      ["entitlement.limit_reached", "fax", 100],
      ["entitlement.threshold_reached", "storage", 80],
      ["entitlement.limit_reached", "storage", 100],
    ]);
    for (const n of fired) expect(n).toMatchObject({ periodStart: null, periodEnd: null });
  });
});
