import { describe, expect, it } from "vitest";
import { api, breakLedger, uniqueSubject } from "../helpers/api";

describe("PUT /v1/plans/{planId}", () => {
  it.each([["faxs"], ["constructor"], ["toString"]])(
    "refuses an entitlement for the undefined meter '%s' with 422 UNKNOWN_METER and writes nothing",
    async (meter) => {
      const planId = `unknown-meter-${crypto.randomUUID()}`;
      const res = await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit: 5 }, [meter]: { limit: 5 } } } });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error).toMatchObject({ code: "UNKNOWN_METER", details: { meters: [meter] } });
      expect((await api("GET", `/v1/plans/${planId}`)).status).toBe(404);
    },
  );

  it("names every unknown meter, and leaves an existing plan as it was", async () => {
    const planId = `unknown-meters-${crypto.randomUUID()}`;
    expect((await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit: 5 } } } })).status).toBe(201);
    const res = await api("PUT", `/v1/plans/${planId}`, {
      body: { entitlements: { fax: { limit: 9 }, faxs: { limit: 1 }, api_calls: { limit: 2 } } },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.details.meters.sort()).toEqual(["api_calls", "faxs"]);
    expect((await api("GET", `/v1/plans/${planId}`)).body.plan.entitlements).toEqual({
      fax: { limit: 5, period: "month", enforcement: "hard" },
    });
  });

  it("accepts meters as soon as they are defined", async () => {
    const meter = `plan_meter_${crypto.randomUUID().slice(0, 8)}`;
    const planId = `new-meter-${crypto.randomUUID()}`;
    const put = () => api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { [meter]: { limit: 3 } } } });
    expect((await put()).status).toBe(422);
    expect((await api("PUT", `/v1/meters/${meter}`, { body: { unit: "call", kind: "counter" } })).status).toBe(201);
    expect((await put()).status).toBe(201);
    const subjectId = uniqueSubject("plan-meter");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } });
    const consume = (amount: number) => api("POST", `/v1/subjects/${subjectId}/entitlements/${meter}/consume`, { body: { amount } });
    expect((await consume(3)).status).toBe(200);
    expect((await consume(1)).status).toBe(402);
  });
});

describe("a plan's name", () => {
  it("must be well-formed Unicode: a lone surrogate is 400 and nothing is written", async () => {
    const planId = `plan-name-${crypto.randomUUID()}`;
    const res = await api("PUT", `/v1/plans/${planId}`, { body: { name: "Pro \ud800", entitlements: {} } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["name"]);
    expect((await api("GET", `/v1/plans/${planId}`)).status).toBe(404);
  });
});

describe("an unavailable ledger", () => {
  it("makes a plan's PUT answer 503 LEDGER_UNAVAILABLE once D1 has it, other subjects still get it, and a retry pushes it", async () => {
    const planId = `push-plan-${crypto.randomUUID()}`;
    await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit: 10 } } } });
    const [broken, healthy] = [uniqueSubject("push-plan"), uniqueSubject("push-plan")];
    for (const subjectId of [broken, healthy]) {
      await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } });
      await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 1, idempotencyKey: "f1" } });
    }
    const repair = await breakLedger(broken);
    const put = () => api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit: 1 } } } });
    const failed = await put();
    expect(failed.status, JSON.stringify(failed.body)).toBe(503);
    expect(failed.body.error.code).toBe("LEDGER_UNAVAILABLE");
    expect(failed.body.error.message).toMatch(/retry/i);
    expect((await api("GET", `/v1/plans/${planId}`)).body.plan.entitlements.fax.limit).toBe(1);
    const consume = (subjectId: string) => api("POST", `/v1/subjects/${subjectId}/entitlements/fax/consume`, { body: { amount: 1 } });
    expect((await consume(healthy)).status).toBe(402);
    await repair();
    expect((await put()).status).toBe(200);
    expect((await consume(broken)).status).toBe(402);
  });
});
