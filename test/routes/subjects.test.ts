import { describe, expect, it } from "vitest";
import { api, breakLedger, uniqueSubject } from "../helpers/api";

describe("PUT /v1/subjects/{subjectId}", () => {
  it.each([["faxs"], ["constructor"], ["toString"]])(
    "refuses an override of the undefined meter '%s' with 422 UNKNOWN_METER and writes nothing",
    async (meter) => {
      const subjectId = uniqueSubject("unknown-override");
      const res = await api("PUT", `/v1/subjects/${subjectId}`, { body: { overrides: { fax: { limit: 2 }, [meter]: { limit: 1 } } } });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error).toMatchObject({ code: "UNKNOWN_METER", details: { meters: [meter] } });
      expect((await api("GET", `/v1/subjects/${subjectId}`)).status).toBe(404);
    },
  );

  it("keeps an existing subject's overrides when an update names an unknown meter", async () => {
    const subjectId = uniqueSubject("unknown-override");
    expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { overrides: { fax: { limit: 2 } } } })).status).toBe(201);
    const res = await api("PUT", `/v1/subjects/${subjectId}`, { body: { billingAnchorDay: 5, overrides: { faxs: { limit: 1 } } } });
    expect(res.status).toBe(422);
    expect((await api("GET", `/v1/subjects/${subjectId}`)).body.subject).toMatchObject({
      billingAnchorDay: null,
      overrides: { fax: { limit: 2 } },
    });
    const consume = (amount: number) => api("POST", `/v1/subjects/${subjectId}/entitlements/fax/consume`, { body: { amount } });
    expect((await consume(2)).status).toBe(200);
    expect((await consume(1)).status).toBe(402);
  });
});

describe("an unavailable ledger", () => {
  it("makes a subject's PUT answer 503 LEDGER_UNAVAILABLE once D1 has it, and a retry pushes it", async () => {
    await api("PUT", "/v1/plans/push-subject", { body: { entitlements: { fax: { limit: 2 } } } });
    const subjectId = uniqueSubject("push-subject");
    await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 1, idempotencyKey: "f1" } });
    const repair = await breakLedger(subjectId);
    const put = () => api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: "push-subject" } });
    const failed = await put();
    expect(failed.status, JSON.stringify(failed.body)).toBe(503);
    expect(failed.body.error.code).toBe("LEDGER_UNAVAILABLE");
    expect(failed.body.error.message).toMatch(/retry/i);
    expect((await api("GET", `/v1/subjects/${subjectId}`)).body.subject.planId).toBe("push-subject");
    await repair();
    expect((await put()).status).toBe(200);
    const consume = await api("POST", `/v1/subjects/${subjectId}/entitlements/fax/consume`, { body: { amount: 2 } });
    expect(consume.status).toBe(402);
  });
});

describe("POST /v1/subjects/{subjectId}/recalculate", () => {
  it("answers 503 LEDGER_UNAVAILABLE when the ledger fails, and recalculates once it is back", async () => {
    const subjectId = uniqueSubject("recalculate");
    await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 3, idempotencyKey: "f1" } });
    const repair = await breakLedger(subjectId);
    const failed = await api("POST", `/v1/subjects/${subjectId}/recalculate`);
    expect(failed.status, JSON.stringify(failed.body)).toBe(503);
    expect(failed.body.error.code).toBe("LEDGER_UNAVAILABLE");
    await repair();
    const done = await api("POST", `/v1/subjects/${subjectId}/recalculate`);
    expect(done.status).toBe(200);
    expect(done.body.meters).toEqual([expect.objectContaining({ meter: "fax", before: 3, after: 3 })]);
  });
});
