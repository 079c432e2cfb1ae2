import { beforeAll, describe, expect, it } from "vitest";
import { api, counterTotal, flushLedger, historyRows, uniqueSubject, userToken } from "../helpers/api";
import { adminKey, auditRows, ROOT } from "../helpers/audit-rows";
import { deadLetters, deliver } from "../helpers/queue";
import { sendTelnyx, telnyxFax } from "../helpers/webhooks";

/** Issue 17: an archived meter takes no new usage and no new entitlements; what it has stays readable and settles. */

const suffix = crypto.randomUUID().slice(0, 8);
const counter = `arch_calls_${suffix}`;
const gauge = `arch_seats_${suffix}`;
const planId = `arch-plan-${suffix}`;
const subjectId = uniqueSubject("arch");
const held: { commit: string; release: string } = { commit: "", release: "" };
let recordedId = "";

const archive = (key: string) => api("POST", `/v1/meters/${key}/archive`);
const unarchive = (key: string) => api("POST", `/v1/meters/${key}/unarchive`);
const expectArchived = (res: { status: number; body: any }) => {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  expect(res.body.error.code).toBe("METER_ARCHIVED");
};

beforeAll(async () => {
  expect((await api("PUT", `/v1/meters/${counter}`, { body: { unit: "call", description: "calls" } })).status).toBe(201);
  expect((await api("PUT", `/v1/meters/${gauge}`, { body: { unit: "seat", kind: "gauge" } })).status).toBe(201);
  const plan = await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { [counter]: { limit: 100 }, [gauge]: { limit: 10 } } } });
  expect(plan.status).toBe(201);
  expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } })).status).toBe(201);
  recordedId = (await api("POST", "/v1/usage", { body: { subjectId, meter: counter, amount: 3, idempotencyKey: "before-1" } })).body.event
    .id;
  await api("POST", "/v1/usage", { body: { subjectId, meter: counter, amount: 4, idempotencyKey: "before-2" } });
  await api("POST", `/v1/subjects/${subjectId}/meters/${gauge}/increment`, { body: { amount: 5, idempotencyKey: "seats" } });
  for (const use of ["commit", "release"] as const) {
    const reserved = await api("POST", `/v1/subjects/${subjectId}/entitlements/${counter}/reserve`, { body: { amount: 2 } });
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(200);
    held[use] = reserved.body.reservation.id;
  }
  await flushLedger(subjectId);
  expect((await archive(counter)).status).toBe(200);
  expect((await archive(gauge)).status).toBe(200);
});

describe("archiving a meter", () => {
  it("answers the meter with archivedAt, the same again when repeated, and logs one entry", async () => {
    const key = `arch_once_${suffix}`;
    await api("PUT", `/v1/meters/${key}`, { body: { unit: "page" } });
    const first = await archive(key);
    expect(first.status).toBe(200);
    expect(Date.parse(first.body.meter.archivedAt)).toBeGreaterThan(Date.now() - 60_000);
    const again = await archive(key);
    expect(again.body).toEqual(first.body);
    expect((await api("GET", `/v1/meters/${key}`)).body).toEqual(first.body);

    const rows = await auditRows("meter", key);
    expect(rows.map((r) => r.action)).toEqual(["meter.archive", "meter.put"]);
    expect(rows[0]).toMatchObject({
      actor: ROOT,
      before: { key, archivedAt: null },
      after: { key, archivedAt: first.body.meter.archivedAt },
    });
    expect(rows[1]).toMatchObject({ before: null, after: { key, unit: "page", kind: "counter", archivedAt: null } });
  });

  it("leaves archived meters out of GET /v1/meters unless includeArchived=true; GET /v1/meters/{key} reads them for any caller", async () => {
    const keys = (res: { body: { data: { key: string }[] } }) => res.body.data.map((m) => m.key);
    expect(keys(await api("GET", "/v1/meters"))).not.toContain(counter);
    expect(keys(await api("GET", "/v1/meters?includeArchived=false"))).not.toContain(counter);
    const all = await api("GET", "/v1/meters?includeArchived=true");
    expect(keys(all)).toEqual(expect.arrayContaining([counter, gauge, "fax"]));
    expect(all.body.data.find((m: { key: string }) => m.key === "fax").archivedAt).toBeNull();

    const token = await userToken(subjectId);
    const one = await api("GET", `/v1/meters/${counter}`, { token });
    expect(one.status).toBe(200);
    expect(one.body.meter).toMatchObject({
      key: counter,
      unit: "call",
      kind: "counter",
      description: "calls",
      archivedAt: expect.any(String),
    });
    expect(keys(await api("GET", "/v1/meters", { token }))).not.toContain(counter);
    expect((await api("GET", `/v1/meters/${counter}`, { token: null })).status).toBe(401);
  });

  it("refuses every kind of new usage with 422 METER_ARCHIVED and writes nothing", async () => {
    const countedBefore = await counterTotal(subjectId, counter);
    const seatsBefore = await counterTotal(subjectId, gauge);
    const rowsBefore = await historyRows(subjectId);

    expectArchived(await api("POST", "/v1/usage", { body: { subjectId, meter: counter, amount: 1, idempotencyKey: "after-1" } }));
    expectArchived(await api("POST", `/v1/subjects/${subjectId}/entitlements/${counter}/consume`, { body: { amount: 1 } }));
    expectArchived(await api("POST", `/v1/subjects/${subjectId}/entitlements/${counter}/reserve`, { body: { amount: 1 } }));
    for (const verb of ["increment", "decrement"]) {
      expectArchived(await api("POST", `/v1/subjects/${subjectId}/meters/${gauge}/${verb}`, { body: { amount: 1 } }));
    }
    expectArchived(await api("PUT", `/v1/subjects/${subjectId}/meters/${gauge}`, { body: { value: 1 } }));
    // A legacy shape naming the meter is the same event.
    expectArchived(
      await api("POST", "/v1/usage", { body: { userId: subjectId, entitlementKey: counter, amount: 1, idempotencyKey: "after-seed" } }),
    );

    // A batch rejects the item, as it does an unknown meter, and records the rest.
    const batch = await api("POST", "/v1/usage/batch", {
      body: {
        events: [
          { subjectId, meter: "api_call", idempotencyKey: "batch-ok" },
          { subjectId, meter: counter, idempotencyKey: "batch-archived" },
          { subjectId, meter: gauge, idempotencyKey: "batch-archived-gauge" },
        ],
      },
    });
    expect(batch.body.results.map((r: { status: string; error?: { code: string } }) => r.error?.code ?? r.status)).toEqual([
      "created",
      "METER_ARCHIVED",
      "METER_ARCHIVED",
    ]);

    // The queue path: the message is acked and dead-lettered, never retried.
    const queued = await deliver("usage-events", [
      { id: `arch-q-${suffix}`, body: { subjectId, meter: counter, amount: 1 } },
      { id: `arch-q-consume-${suffix}`, body: { subjectId, meter: counter, amount: 1, mode: "consume" } },
    ]);
    expect(queued.result.explicitAcks.sort()).toEqual([`arch-q-${suffix}`, `arch-q-consume-${suffix}`].sort());
    expect(queued.result.retryMessages).toEqual([]);
    const letters = (await deadLetters()).filter((d) => d.message_id.endsWith(suffix));
    expect(letters.map((d) => d.reason)).toEqual(["METER_ARCHIVED", "METER_ARCHIVED"]);

    expect(await counterTotal(subjectId, counter)).toBe(countedBefore);
    expect(await counterTotal(subjectId, gauge)).toBe(seatsBefore);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(rowsBefore + 1);
  });

  it("refuses a plan or a subject override naming the meter with 422 METER_ARCHIVED, naming it, and writes nothing", async () => {
    const plan = await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { [counter]: { limit: 1 }, fax: { limit: 1 } } } });
    expectArchived(plan);
    expect(plan.body.error.details.meters).toEqual([counter]);
    expect((await api("GET", `/v1/plans/${planId}`)).body.plan.entitlements[counter].limit).toBe(100);

    const newPlan = `arch-new-${suffix}`;
    const both = await api("PUT", `/v1/plans/${newPlan}`, { body: { entitlements: { [gauge]: { limit: 1 }, [counter]: { limit: 1 } } } });
    expect(both.body.error.details.meters.sort()).toEqual([counter, gauge].sort());
    expect((await api("GET", `/v1/plans/${newPlan}`)).status).toBe(404);
    // Unknown meters are named first: they are the bigger mistake.
    const unknown = await api("PUT", `/v1/plans/${newPlan}`, {
      body: { entitlements: { [counter]: { limit: 1 }, nope_meter: { limit: 1 } } },
    });
    expect(unknown.body.error).toMatchObject({ code: "UNKNOWN_METER", details: { meters: ["nope_meter"] } });

    const override = await api("PUT", `/v1/subjects/${subjectId}`, { body: { overrides: { [counter]: { limit: 5 } } } });
    expectArchived(override);
    expect(override.body.error.details.meters).toEqual([counter]);
    expect((await api("GET", `/v1/subjects/${subjectId}`)).body.subject.overrides).toEqual({});
    // Settings that do not name it still change.
    expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { billingAnchorDay: 1 } })).status).toBe(200);
  });

  it("keeps history, summaries, balances, holds taken before and voids working", async () => {
    const history = await api("GET", `/v1/usage?subjectId=${subjectId}&meter=${counter}`);
    expect(history.body.data.map((e: { amount: number }) => e.amount).sort()).toEqual([3, 4]);
    const summary = await api("GET", `/v1/usage/summary?subjectId=${subjectId}&groupBy=meter`);
    expect(summary.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ meter: counter, total: 7 })]));
    const rows = (await api("GET", `/v1/subjects/${subjectId}/entitlements`)).body.data;
    expect(rows.find((r: { meter: string }) => r.meter === counter)).toMatchObject({ used: 7, held: 4, limit: 100 });
    expect(rows.find((r: { meter: string }) => r.meter === gauge)).toMatchObject({ used: 5 });
    expect((await api("POST", `/v1/subjects/${subjectId}/entitlements/${counter}/check`, { body: { amount: 1 } })).status).toBe(200);

    const committed = await api("POST", `/v1/subjects/${subjectId}/reservations/${held.commit}/commit`, { body: { amount: 2 } });
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    expect(committed.body.event).toMatchObject({ meter: counter, amount: 2 });
    const released = await api("POST", `/v1/subjects/${subjectId}/reservations/${held.release}/release`);
    expect(released.status).toBe(200);
    // An amend records a new event of the meter: refused like any new usage, and the original stands.
    expectArchived(await api("POST", `/v1/usage/${recordedId}/amend`, { body: { amount: 1 } }));
    const voided = await api("POST", `/v1/usage/${recordedId}/void`, { body: { reason: "archived meter cleanup" } });
    expect(voided.status, JSON.stringify(voided.body)).toBe(200);
    expect(voided.body.status).toBe("voided");
    expect(await counterTotal(subjectId, counter)).toBe(7 + 2 - 3);
  });

  it("keeps a re-defined meter archived, and logs the description change with before and after", async () => {
    const key = `arch_redefine_${suffix}`;
    await api("PUT", `/v1/meters/${key}`, { body: { unit: "page", description: "old" } });
    const archived = (await archive(key)).body.meter;
    const put = await api("PUT", `/v1/meters/${key}`, { body: { unit: "page", description: "new" } });
    expect(put.status).toBe(200);
    expect(put.body.meter).toMatchObject({ description: "new", archivedAt: archived.archivedAt });
    // The same PUT again changes nothing and logs nothing.
    expect((await api("PUT", `/v1/meters/${key}`, { body: { unit: "page", description: "new" } })).status).toBe(200);
    const [latest, ...older] = await auditRows("meter", key);
    expect(older.map((r) => r.action)).toEqual(["meter.archive", "meter.put"]);
    expect(latest).toMatchObject({
      action: "meter.put",
      before: { description: "old", archivedAt: archived.archivedAt },
      after: { description: "new", archivedAt: archived.archivedAt, updatedAt: put.body.meter.updatedAt },
    });
  });
});

describe("unarchiving a meter", () => {
  it("takes usage and entitlements again; a repeat changes and logs nothing; the entry names the API key and request", async () => {
    const key = `arch_back_${suffix}`;
    const who = await adminKey();
    await api("PUT", `/v1/meters/${key}`, { body: { unit: "call" } });
    await archive(key);
    const subject = uniqueSubject("arch-back");
    expectArchived(await api("POST", "/v1/usage", { body: { subjectId: subject, meter: key } }));

    const back = await api("POST", `/v1/meters/${key}/unarchive`, { token: who.secret });
    expect(back.status).toBe(200);
    expect(back.body.meter.archivedAt).toBeNull();
    expect((await unarchive(key)).body).toEqual(back.body);
    expect((await api("POST", "/v1/usage", { body: { subjectId: subject, meter: key } })).status).toBe(201);
    expect((await api("PUT", `/v1/plans/arch-back-${suffix}`, { body: { entitlements: { [key]: { limit: 3 } } } })).status).toBe(201);

    const rows = await auditRows("meter", key);
    expect(rows.map((r) => r.action)).toEqual(["meter.unarchive", "meter.archive", "meter.put"]);
    expect(rows[0]).toMatchObject({
      actor: { type: "api_key", id: who.id },
      requestId: back.headers.get("x-request-id"),
      before: { archivedAt: expect.any(String) },
      after: { archivedAt: null },
    });
  });

  it("answers 404 for a meter that is not defined, and 400 for a bad key or query", async () => {
    for (const path of ["/v1/meters/no_such_meter", "/v1/meters/no_such_meter/archive", "/v1/meters/no_such_meter/unarchive"]) {
      const res = await api(path.endsWith("meter") ? "GET" : "POST", path);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe("NOT_FOUND");
    }
    expect((await auditRows("meter", "no_such_meter")).length).toBe(0);
    for (const [method, path] of [
      ["GET", "/v1/meters?includeArchived=yes"],
      ["GET", "/v1/meters?includeArchived=true&includeArchived=false"],
      ["GET", "/v1/meters/bad%20key"],
      ["POST", "/v1/meters/bad%20key/archive"],
      ["POST", `/v1/meters/${counter}/archive?force=true`],
    ] as const) {
      const res = await api(method, path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("is refused to user tokens and keys without admin", async () => {
    const res = await api("POST", `/v1/meters/${counter}/unarchive`, { token: await userToken(subjectId) });
    expect(res.status).toBe(403);
    const reader = await api("POST", "/v1/api-keys", { body: { name: "reader", scopes: ["usage:read"] } });
    expect((await api("POST", `/v1/meters/${counter}/unarchive`, { token: reader.body.secret })).status).toBe(403);
    expect((await api("GET", `/v1/meters/${counter}`)).body.meter.archivedAt).not.toBeNull();
  });

  it("bills a delivered fax on an archived fax meter (the pages went out), and refuses new grants on it", async () => {
    const faxSubject = uniqueSubject("arch-fax");
    expect((await api("POST", "/v1/meters/fax/archive")).status).toBe(200);
    try {
      const res = await sendTelnyx(telnyxFax("fax.delivered", { pages: 3, subjectId: faxSubject }));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.outcome).toBe("billed");
      expect(await counterTotal(faxSubject, "fax")).toBe(3);
      // Asked for through the API, it is new usage: refused.
      expectArchived(await api("POST", "/v1/usage", { body: { subjectId: faxSubject, meter: "fax", amount: 1 } }));
      const grant = await api("POST", `/v1/subjects/${faxSubject}/grants`, { body: { meter: "fax", amount: 5 } });
      expect(grant.status).toBe(422);
      expect(grant.body.error).toMatchObject({ code: "METER_ARCHIVED", details: { meters: ["fax"] } });
      expect((await api("GET", `/v1/subjects/${faxSubject}/grants`)).body.data).toEqual([]);
    } finally {
      expect((await api("POST", "/v1/meters/fax/unarchive")).status).toBe(200);
    }
  });
});
