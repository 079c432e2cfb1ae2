import { describe, expect, it } from "vitest";
import { api, flushLedger, uniqueSubject } from "../helpers/api";
import { adminKey, auditRows, ROOT } from "../helpers/audit-rows";
import { voidInHistory } from "../helpers/history";

/** Issue 17: subject writes and recalculations, each once in the audit log with who did it. */

describe("subject writes in the audit log", () => {
  it("logs each PUT once as subject.put, overrides and feature overrides included, before and after", async () => {
    const planId = `subject-audit-${crypto.randomUUID().slice(0, 8)}`;
    await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit: 5 } } } });
    const subjectId = uniqueSubject("audit");
    const who = await adminKey();
    const created = await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId }, token: who.secret });
    expect(created.status).toBe(201);
    const updated = await api("PUT", `/v1/subjects/${subjectId}`, {
      body: { billingAnchorDay: 15, overrides: { fax: { limit: 50 } }, featureOverrides: { sso: true } },
    });
    expect(updated.status).toBe(200);

    const rows = await auditRows("subject", subjectId);
    expect(rows.map((r) => r.action)).toEqual(["subject.put", "subject.put"]);
    const record = (s: { subjectId: string }) => {
      const { subjectId: id, ...rest } = s as Record<string, unknown> & { subjectId: string };
      return { id, ...rest };
    };
    expect(rows[1]).toMatchObject({
      actor: { type: "api_key", id: who.id },
      requestId: created.headers.get("x-request-id"),
      before: null,
      after: record(created.body.subject),
    });
    expect(rows[0]).toMatchObject({
      actor: ROOT,
      before: record(created.body.subject),
      after: { ...record(updated.body.subject), overrides: { fax: { limit: 50 } }, featureOverrides: { sso: true } },
    });
  });

  it("logs nothing for a PUT refused before it writes", async () => {
    const subjectId = uniqueSubject("audit-refused");
    expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: "no-such-plan" } })).status).toBe(404);
    expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { overrides: { nope_meter: { limit: 1 } } } })).status).toBe(422);
    expect(await auditRows("subject", subjectId)).toEqual([]);
  });

  it("logs every recalculation as subject.recalculate with the meters it changed, and none when nothing changed", async () => {
    const subjectId = uniqueSubject("audit-recalc");
    const event = (await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 3, idempotencyKey: "r1" } })).body.event;
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 2, idempotencyKey: "r2" } });
    await flushLedger(subjectId);
    // History says the fax event is voided; the ledger still counts it.
    await voidInHistory(event.id, Date.now(), "drift");

    const first = await api("POST", `/v1/subjects/${subjectId}/recalculate`);
    expect(first.status).toBe(200);
    const fax = first.body.meters.find((m: { meter: string }) => m.meter === "fax");
    expect(fax).toMatchObject({ before: 3, after: 0 });
    const second = await api("POST", `/v1/subjects/${subjectId}/recalculate`);
    expect(second.status).toBe(200);

    const rows = await auditRows("subject", subjectId);
    expect(rows.map((r) => r.action)).toEqual(["subject.recalculate", "subject.recalculate"]);
    expect(rows[1]).toMatchObject({
      actor: ROOT,
      requestId: first.headers.get("x-request-id"),
      before: null,
      after: { changed: [{ meter: "fax", periodStart: fax.periodStart, before: 3, after: 0 }] },
    });
    expect(rows[0]!.after).toEqual({ changed: [] });
  });
});
