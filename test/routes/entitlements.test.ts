import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, counterTotal, flushLedger, historyRows, ledger, uniqueSubject, userToken } from "../helpers/api";

async function planWith(planId: string, entitlements: Record<string, unknown>) {
  const res = await api("PUT", `/v1/plans/${planId}`, { body: { entitlements } });
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
}

async function subjectOn(planId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const subjectId = uniqueSubject("ent");
  const res = await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return subjectId;
}

const consume = (subjectId: string, meter: string, body: Record<string, unknown> = {}) =>
  api("POST", `/v1/subjects/${subjectId}/entitlements/${meter}/consume`, { body });

async function notificationsOf(subjectId: string) {
  await flushLedger(subjectId);
  const { results } = await env.DB.prepare("SELECT type, payload FROM notifications WHERE subject_id = ? ORDER BY created_at")
    .bind(subjectId)
    .all<{ type: string; payload: string }>();
  return results.map((r) => ({ type: r.type, ...(JSON.parse(r.payload) as { threshold: number; meter: string }) }));
}

describe("check and consume", () => {
  it("admits exactly the hard limit under 1,000 concurrent consumes", async () => {
    await planWith("hard-100", { api_call: { limit: 100, period: "month", enforcement: "hard" } });
    const subjectId = await subjectOn("hard-100");
    const responses = await Promise.all(Array.from({ length: 1000 }, () => consume(subjectId, "api_call", { amount: 1 })));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(100);
    const denied = responses.filter((r) => r.status === 402);
    expect(denied).toHaveLength(900);
    expect(denied[0]!.body.error).toMatchObject({
      code: "LIMIT_EXCEEDED",
      details: { allowed: false, used: 100, limit: 100, remaining: 0 },
    });
    expect(await counterTotal(subjectId, "api_call")).toBe(100);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(100);
  });

  it("admits exactly the limit on each of 10 subjects under 1,000 concurrent consumes", async () => {
    await planWith("hard-10", { api_call: { limit: 10, enforcement: "hard" } });
    const subjects = await Promise.all(Array.from({ length: 10 }, () => subjectOn("hard-10")));
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => consume(subjects[i % 10]!, "api_call", { amount: 1 }).then((r) => ({ i, r }))),
    );
    for (const [k, subjectId] of subjects.entries()) {
      const mine = responses.filter(({ i }) => i % 10 === k).map(({ r }) => r.status);
      expect(mine.filter((s) => s === 200)).toHaveLength(10);
      expect(mine.filter((s) => s === 402)).toHaveLength(90);
      expect(await counterTotal(subjectId, "api_call")).toBe(10);
      await flushLedger(subjectId);
      expect(await historyRows(subjectId)).toBe(10);
    }
  });

  it("answers check without consuming, and consume with the balance after it", async () => {
    await planWith("fax-5", { fax: { limit: 5 } });
    const subjectId = await subjectOn("fax-5");
    const check = await api("POST", `/v1/subjects/${subjectId}/entitlements/fax/check`, { body: { amount: 5 } });
    expect(check.body).toEqual({ allowed: true, used: 0, held: 0, granted: 0, limit: 5, remaining: 5, overage: false });
    const used = await consume(subjectId, "fax", { amount: 3, idempotencyKey: "fax-1", dimensions: { schoolId: "S1" } });
    expect(used.status).toBe(200);
    expect(used.body).toMatchObject({ allowed: true, used: 3, limit: 5, remaining: 2, overage: false, status: "created" });
    expect(used.body.event).toMatchObject({ meter: "fax", amount: 3, source: "consume", dimensions: { schoolId: "S1" } });
    const tooMuch = await api("POST", `/v1/subjects/${subjectId}/entitlements/fax/check`, { body: { amount: 3 } });
    expect(tooMuch.body).toEqual({ allowed: false, used: 3, held: 0, granted: 0, limit: 5, remaining: 2, overage: true });
    expect(await counterTotal(subjectId, "fax")).toBe(3);
  });

  it("answers a replayed consume with its original decision, counted once", async () => {
    await planWith("fax-4", { fax: { limit: 4 } });
    const subjectId = await subjectOn("fax-4");
    const first = await consume(subjectId, "fax", { amount: 3, idempotencyKey: "k1" });
    await consume(subjectId, "fax", { amount: 1, idempotencyKey: "k2" });
    const replay = await consume(subjectId, "fax", { amount: 3, idempotencyKey: "k1" });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ allowed: true, used: 3, remaining: 1, status: "duplicate" });
    expect(replay.body.event.id).toBe(first.body.event.id);
    expect((await consume(subjectId, "fax", { amount: 2, idempotencyKey: "k1" })).status).toBe(409);
    expect(await counterTotal(subjectId, "fax")).toBe(4);
  });

  it("admits overage on a soft limit and reports it; never on a hard one", async () => {
    await planWith("soft-2", { fax: { limit: 2, enforcement: "soft" } });
    const subjectId = await subjectOn("soft-2");
    await consume(subjectId, "fax", { amount: 2 });
    const over = await consume(subjectId, "fax", { amount: 3 });
    expect(over.status).toBe(200);
    expect(over.body).toMatchObject({ allowed: true, overage: true, used: 5, limit: 2, remaining: 0 });
    const rows = (await api("GET", `/v1/subjects/${subjectId}/entitlements`)).body.data;
    expect(rows.find((r: { meter: string }) => r.meter === "fax")).toMatchObject({ used: 5, limit: 2, remaining: 0, enforcement: "soft" });
  });

  it("counts plain recording towards the limit but never denies it", async () => {
    await planWith("fax-2", { fax: { limit: 2 } });
    const subjectId = await subjectOn("fax-2");
    expect((await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 5 } })).status).toBe(201);
    expect((await consume(subjectId, "fax", { amount: 1 })).status).toBe(402);
  });

  it("uses a changed plan and new overrides from the next call", async () => {
    await planWith("grow", { api_call: { limit: 1 } });
    const subjectId = await subjectOn("grow");
    await consume(subjectId, "api_call");
    expect((await consume(subjectId, "api_call")).status).toBe(402);
    await planWith("grow", { api_call: { limit: 3 } });
    expect((await consume(subjectId, "api_call")).status).toBe(200);
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { overrides: { api_call: { limit: null } } } });
    const unlimited = await consume(subjectId, "api_call", { amount: 50 });
    expect(unlimited.body).toMatchObject({ allowed: true, limit: null, remaining: null });
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: null, overrides: {} } });
    expect((await api("GET", `/v1/subjects/${subjectId}`)).body.subject).toMatchObject({ planId: null, overrides: {} });
  });

  it("overrides only the fields given, keeping the rest of the plan's entitlement", async () => {
    await planWith("daily-soft", { api_call: { limit: 5, period: "day", enforcement: "soft", thresholds: [50] } });
    const subjectId = await subjectOn("daily-soft", { overrides: { api_call: { limit: 9 } } });
    expect((await api("GET", `/v1/subjects/${subjectId}`)).body.subject.overrides).toEqual({ api_call: { limit: 9 } });
    const row = (await api("GET", `/v1/subjects/${subjectId}/entitlements`)).body.data[0];
    expect(row).toMatchObject({ meter: "api_call", limit: 9, period: "day", enforcement: "soft" });
  });

  it("takes bodiless actions without a content type", async () => {
    const res = await api("POST", `/v1/subjects/${uniqueSubject()}/recalculate`, { headers: {} });
    expect(res.status).toBe(200);
  });

  it("refuses an unknown plan, meter or malformed limits", async () => {
    expect((await api("PUT", `/v1/subjects/${uniqueSubject()}`, { body: { planId: "missing" } })).status).toBe(404);
    expect((await consume(uniqueSubject(), "nope")).body.error.code).toBe("UNKNOWN_METER");
    expect((await api("PUT", "/v1/plans/bad", { body: { entitlements: { fax: { limit: -1 } } } })).status).toBe(400);
    expect((await api("PUT", `/v1/subjects/${uniqueSubject()}`, { body: { billingAnchorDay: 32 } })).status).toBe(400);
  });
});

describe("entitlement listing", () => {
  it("lists every meter used or entitled with period bounds", async () => {
    await planWith("listing", { fax: { limit: 10, period: "day" }, storage: { limit: 1000, period: "none" } });
    const subjectId = await subjectOn("listing");
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 2 } });
    const res = await api("GET", `/v1/subjects/${subjectId}/entitlements`);
    const byMeter = Object.fromEntries(res.body.data.map((r: { meter: string }) => [r.meter, r]));
    expect(Object.keys(byMeter).sort()).toEqual(["api_call", "fax", "storage"]);
    expect(byMeter.api_call).toMatchObject({ kind: "counter", used: 2, limit: null, remaining: null, enforcement: null, period: "month" });
    expect(byMeter.storage).toMatchObject({ kind: "gauge", used: 0, limit: 1000, period: "none", periodStart: null, periodEnd: null });
    const day = byMeter.fax;
    expect(Date.parse(day.periodEnd) - Date.parse(day.periodStart)).toBe(86_400_000);
    const mine = await api("GET", "/v1/me/entitlements", { token: await userToken(subjectId) });
    expect(mine.body.data).toEqual(res.body.data);
  });

  it("starts a day period afresh and keeps yesterday's total", async () => {
    await planWith("daily", { api_call: { limit: 5, period: "day" } });
    const subjectId = await subjectOn("daily");
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 5, timestamp: yesterday } });
    const today = await consume(subjectId, "api_call", { amount: 5 });
    expect(today.body).toMatchObject({ allowed: true, used: 5, remaining: 0 });
    const counters = (await ledger(subjectId).state()).counters.filter((c) => c.meter === "api_call");
    expect(counters.map((c) => c.totalE4 / 10_000)).toEqual([5, 5]);
  });
});

describe("thresholds", () => {
  it("fire once each under concurrent crossing", async () => {
    await planWith("thresholds", { api_call: { limit: 10, thresholds: [50, 80, 100] } });
    const subjectId = await subjectOn("thresholds");
    await Promise.all(Array.from({ length: 30 }, () => api("POST", "/v1/usage", { body: { subjectId, meter: "api_call" } })));
    const fired = await notificationsOf(subjectId);
    expect(fired.map((n) => [n.type, n.threshold])).toEqual([
      ["entitlement.threshold_reached", 50],
      ["entitlement.threshold_reached", 80],
      ["entitlement.limit_reached", 100],
    ]);
  });

  it("fire again in the next period", async () => {
    await planWith("daily-thresholds", { api_call: { limit: 2, period: "day", thresholds: [100] } });
    const subjectId = await subjectOn("daily-thresholds");
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 2, timestamp: yesterday } });
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 3 } });
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 1 } });
    const fired = await notificationsOf(subjectId);
    expect(fired.map((n) => n.type)).toEqual(["entitlement.limit_reached", "entitlement.limit_reached"]);
  });
});

describe("recalculation", () => {
  it("repairs a corrupted counter from history and changes nothing when run again", async () => {
    const subjectId = uniqueSubject();
    await api("POST", "/v1/usage/batch", {
      body: { events: [1, 2, 3].map((amount, i) => ({ subjectId, meter: "fax", amount, idempotencyKey: `r${i}` })) },
    });
    await api("POST", `/v1/subjects/${subjectId}/meters/storage/increment`, { body: { amount: 7 } });
    await api("POST", `/v1/subjects/${subjectId}/meters/storage/decrement`, { body: { amount: 2 } });
    const { runInDurableObject } = await import("cloudflare:test");
    await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => {
      state.storage.sql.exec("UPDATE usage_days SET total_e4 = total_e4 + 990000 WHERE meter = 'fax'");
      state.storage.sql.exec("UPDATE gauges SET level_e4 = 0");
    });
    expect(await counterTotal(subjectId, "fax")).toBe(105);
    const first = await api("POST", `/v1/subjects/${subjectId}/recalculate`);
    expect(first.status).toBe(200);
    expect(first.body.meters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ meter: "fax", before: 105, after: 6 }),
        expect.objectContaining({ meter: "storage", before: 0, after: 5 }),
      ]),
    );
    const again = await api("POST", `/v1/subjects/${subjectId}/recalculate`);
    expect(again.body.meters.every((m: { before: number; after: number }) => m.before === m.after)).toBe(true);
    expect(await counterTotal(subjectId, "fax")).toBe(6);
  });
});
