import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { parseCsv } from "../helpers/csv";
import { voidInHistory, writeHistory } from "../helpers/history";
import { api, flushLedger, uniqueSubject, userToken } from "../helpers/api";

/** Issue 13 §2: operators take back a mistaken event (void) or correct it (amend), with an audit trail. */

async function record(subjectId: string, meter: string, amount: number, key: string, extra: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/usage", { body: { subjectId, meter, amount, idempotencyKey: key, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.event as { id: string };
}

async function used(subjectId: string, meter: string): Promise<number> {
  const res = await api("GET", `/v1/subjects/${subjectId}/entitlements`);
  return res.body.data.find((r: { meter: string }) => r.meter === meter)?.used ?? 0;
}

const voidEvent = (id: string, body?: unknown) => api("POST", `/v1/usage/${id}/void`, body === undefined ? {} : { body });

async function notifications(subjectId: string, type: string) {
  await flushLedger(subjectId);
  const { results } = await env.DB.prepare("SELECT payload FROM notifications WHERE subject_id = ? AND type = ? ORDER BY created_at")
    .bind(subjectId, type)
    .all<{ payload: string }>();
  return results.map((r) => JSON.parse(r.payload) as Record<string, unknown>);
}

describe("void", () => {
  it("takes an event out of counters, history, summaries and exports, keeping it with voidedAt for the audit trail", async () => {
    const subjectId = uniqueSubject("void");
    const meter = "pantry_items";
    const events = [];
    for (const [i, amount] of [1, 2, 3].entries())
      events.push(await record(subjectId, meter, amount, `v${i}`, { dimensions: { schoolId: "S9" } }));
    await flushLedger(subjectId);
    const typedTwice = events[1]!.id;

    const res = await voidEvent(typedTwice, { reason: "pantry log typed twice" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: "voided", event: { id: typedTwice, amount: 2, voidReason: "pantry log typed twice" } });
    expect(Date.parse(res.body.event.voidedAt)).toBeGreaterThan(0);
    expect(await used(subjectId, meter)).toBe(4);
    await flushLedger(subjectId);

    const history = await api("GET", `/v1/usage?subjectId=${subjectId}`);
    expect(history.body.data.map((e: { amount: number }) => e.amount).sort()).toEqual([1, 3]);
    const all = await api("GET", `/v1/usage?subjectId=${subjectId}&includeVoided=true`);
    expect(all.body.data.find((e: { id: string }) => e.id === typedTwice)).toMatchObject({ voidReason: "pantry log typed twice" });
    expect((await api("GET", `/v1/usage/${typedTwice}`)).body.event.voidedAt).toBe(res.body.event.voidedAt);

    // Summaries: by subject (events), and across subjects by school (rollups), with and without voided events.
    const bySubject = await api("GET", `/v1/usage/summary?subjectId=${subjectId}&groupBy=meter`);
    expect(bySubject.body.data).toEqual([expect.objectContaining({ meter, total: 4, count: 2 })]);
    const bySchool = await api("GET", `/v1/usage/summary?groupBy=dimension.schoolId&dimension.schoolId=S9&meter=${meter}`);
    expect(bySchool.body.data).toEqual([expect.objectContaining({ "dimension.schoolId": "S9", total: 4, count: 2, subjects: 1 })]);
    const withVoided = await api(
      "GET",
      `/v1/usage/summary?groupBy=dimension.schoolId&dimension.schoolId=S9&meter=${meter}&includeVoided=true`,
    );
    expect(withVoided.body.data).toEqual([expect.objectContaining({ total: 6, count: 3 })]);

    const csv = await exportCsv(`subjectId=${subjectId}`);
    expect(csv.map((r) => r.amount).sort()).toEqual(["1", "3"]);
    const csvAll = await exportCsv(`subjectId=${subjectId}&includeVoided=true`);
    expect(csvAll.find((r) => r.id === typedTwice)).toMatchObject({ voidReason: "pantry log typed twice" });

    const again = await voidEvent(typedTwice, { reason: "other" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: "already_voided", event: { voidReason: "pantry log typed twice" } });
    expect(await used(subjectId, meter)).toBe(4);
    const voided = await notifications(subjectId, "usage.voided");
    expect(voided).toEqual([expect.objectContaining({ eventId: typedTwice, meter, amount: 2, reason: "pantry log typed twice" })]);
  });

  it("answers 404 for an unknown event, 403 to a user token, 400 to a bad body; nothing changes", async () => {
    const subjectId = uniqueSubject("void-guard");
    const event = await record(subjectId, "fax", 2, "g1");
    await flushLedger(subjectId);
    expect((await voidEvent("evt_nope")).status).toBe(404);
    expect((await api("POST", `/v1/usage/${event.id}/void`, { token: await userToken(subjectId) })).status).toBe(403);
    expect((await voidEvent(event.id, { reason: "x".repeat(501) })).status).toBe(400);
    expect((await voidEvent(event.id, { reason: "ok", extra: 1 })).status).toBe(400);
    // A lone surrogate would be stored as U+FFFD in history, the ledger and the CSV.
    expect((await voidEvent(event.id, { reason: "typo \ud800" })).status).toBe(400);
    expect((await api("POST", `/v1/usage/${event.id}/amend`, { body: { amount: 1, reason: "\udfff" } })).status).toBe(400);
    expect(await used(subjectId, "fax")).toBe(2);
    // No body at all is a void without a reason.
    const bare = await api("POST", `/v1/usage/${event.id}/void`, { headers: {} });
    expect(bare.body).toMatchObject({ status: "voided", event: { voidReason: null } });
  });

  it("refuses events older than the 35-day window", async () => {
    const subjectId = uniqueSubject("void-old");
    const id = `evt_old_${subjectId}`;
    const old = Date.now() - 40 * 86_400_000;
    await writeHistory([
      {
        id,
        subjectId,
        meter: "fax",
        unit: "page",
        amountE4: 10_000,
        operation: "add",
        occurredAt: old,
        receivedAt: old,
        source: "api",
        idempotencyKey: null,
        dimensions: {},
        metadata: {},
      },
    ]);
    const res = await voidEvent(id);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("TIMESTAMP_OUT_OF_RANGE");
  });

  it("gives back the balance a consume took, and lets a threshold fire again once usage reaches it again", async () => {
    await api("PUT", "/v1/plans/void-limit", { body: { entitlements: { fax: { limit: 10, enforcement: "hard" } } } });
    const subjectId = uniqueSubject("void-consume");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: "void-limit" } });
    const consume = (amount: number) => api("POST", `/v1/subjects/${subjectId}/entitlements/fax/consume`, { body: { amount } });
    const taken = await consume(8);
    expect(taken.status).toBe(200);
    expect((await consume(3)).status).toBe(402);
    await flushLedger(subjectId);
    expect((await voidEvent(taken.body.event.id, { reason: "fax billed in error" })).status).toBe(200);
    expect(await used(subjectId, "fax")).toBe(0);
    expect((await consume(9)).status).toBe(200);
    const thresholds = await notifications(subjectId, "entitlement.threshold_reached");
    expect(thresholds.map((n) => n.threshold)).toEqual([80, 80]);
  });

  it("restates a closed period and says so with period.restated", async () => {
    const subjectId = uniqueSubject("void-closed");
    const keep = await record(subjectId, "api_call", 5, "c1");
    const wrong = await record(subjectId, "api_call", 7, "c2");
    await flushLedger(subjectId);
    const now = new Date();
    const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "0 0 1 * *", scheduledTime: nextMonth }), env, ctx);
    await waitOnExecutionContext(ctx);
    const period = () => api("GET", `/v1/periods?subjectId=${subjectId}`);
    const closedRows = async () => {
      await flushLedger(subjectId);
      return (await period()).body.data.length;
    };
    await expect.poll(closedRows, { timeout: 15_000 }).toBe(1);
    expect((await period()).body.data[0]).toMatchObject({ total: 12, eventCount: 2, restatedAt: null });

    expect((await voidEvent(wrong.id)).status).toBe(200);
    await flushLedger(subjectId);
    expect((await period()).body.data[0]).toMatchObject({ total: 5, eventCount: 1, restatedAt: expect.any(String) });
    expect(await notifications(subjectId, "period.restated")).toEqual([
      expect.objectContaining({ meter: "api_call", before: 12, after: 5 }),
    ]);
    expect(keep.id).not.toBe(wrong.id);
  });

  it("restates a gauge from its remaining moves, whatever the void took out (add, remove, set)", async () => {
    const subjectId = uniqueSubject("void-gauge");
    const move = async (path: string, body: unknown) => {
      const res = await api(path.endsWith("storage") ? "PUT" : "POST", `/v1/subjects/${subjectId}/meters/${path}`, { body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    await move("storage/increment", { amount: 10, idempotencyKey: "a" });
    await move("storage/increment", { amount: 5, idempotencyKey: "b" });
    await move("storage/decrement", { amount: 30, idempotencyKey: "c" }); // stops at 0
    await move("storage", { value: 4, idempotencyKey: "d" });
    await move("storage/increment", { amount: 1, idempotencyKey: "e" });
    await flushLedger(subjectId);
    const ids = Object.fromEntries(
      (await api("GET", `/v1/usage?subjectId=${subjectId}`)).body.data.map((e: { id: string; idempotencyKey: string }) => [
        e.idempotencyKey,
        e.id,
      ]),
    );
    expect(await used(subjectId, "storage")).toBe(5);
    await voidEvent(ids.d); // without the set: 10, 15, 0, 1
    expect(await used(subjectId, "storage")).toBe(1);
    await voidEvent(ids.c); // without the removal too: 10, 15, 16
    expect(await used(subjectId, "storage")).toBe(16);
  });
  it("rebuilds a gauge again when a void is repeated after its first rebuild failed", async () => {
    const subjectId = uniqueSubject("void-gauge-retry");
    for (const [key, amount] of [
      ["a", 10],
      ["b", 5],
    ] as const) {
      await api("POST", `/v1/subjects/${subjectId}/meters/storage/increment`, { body: { amount, idempotencyKey: key } });
    }
    await flushLedger(subjectId);
    const history = (await api("GET", `/v1/usage?subjectId=${subjectId}`)).body.data;
    const wrong = history.find((e: { idempotencyKey: string }) => e.idempotencyKey === "b");
    // As a first void leaves it when its rebuild fails: the ledger and history know the void, the level is stale.
    await voidInHistory(wrong.id, Date.now(), "first try");
    await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => {
      state.storage.sql.exec(
        "INSERT INTO voided_events (event_id, meter, occurred_at, amount_e4, voided_at, reason) VALUES (?, 'storage', ?, 50000, ?, 'first try')",
        wrong.id,
        Date.parse(wrong.timestamp),
        Date.now(),
      );
    });
    expect(await used(subjectId, "storage")).toBe(15);
    const again = await voidEvent(wrong.id);
    expect(again.body).toMatchObject({ status: "already_voided", event: { voidReason: "first try" } });
    expect(await used(subjectId, "storage")).toBe(10);
  });
});

describe("amend", () => {
  it("voids the event and records the correction atomically; the same amendment again changes nothing; another is a conflict", async () => {
    const subjectId = uniqueSubject("amend");
    const original = await record(subjectId, "fax", 5, "a1", { dimensions: { schoolId: "S1" } });
    await flushLedger(subjectId);
    const correction = { amount: 3, reason: "3 pages, not 5" };
    const res = await api("POST", `/v1/usage/${original.id}/amend`, { body: correction });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      status: "created",
      voided: { id: original.id, amount: 5, voidReason: "3 pages, not 5" },
      event: {
        amount: 3,
        meter: "fax",
        source: "amend",
        idempotencyKey: `amend:${original.id}`,
        dimensions: { schoolId: "S1" },
        voidedAt: null,
      },
    });
    expect(await used(subjectId, "fax")).toBe(3);
    const replay = await api("POST", `/v1/usage/${original.id}/amend`, { body: correction });
    expect(replay.body).toMatchObject({ status: "duplicate", event: { id: res.body.event.id } });
    const other = await api("POST", `/v1/usage/${original.id}/amend`, { body: { amount: 4 } });
    expect(other.status).toBe(409);
    expect(other.body.error.details).toEqual({ replacementEventId: res.body.event.id });
    expect(await used(subjectId, "fax")).toBe(3);
    await flushLedger(subjectId);
    const history = (await api("GET", `/v1/usage?subjectId=${subjectId}&includeVoided=true`)).body.data;
    expect(history.map((e: { amount: number; voidedAt: string | null }) => [e.amount, e.voidedAt === null])).toEqual(
      expect.arrayContaining([
        [5, false],
        [3, true],
      ]),
    );
  });

  it("moves usage to another meter or time, validates the replacement, and keeps the subject", async () => {
    const subjectId = uniqueSubject("amend-move");
    const original = await record(subjectId, "fax", 2, "m1");
    await flushLedger(subjectId);
    // An hour earlier, but inside this calendar month, whose total the entitlement row shows.
    const now = new Date();
    const earlier = new Date(Math.max(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1), now.getTime() - 3_600_000)).toISOString();
    expect((await api("POST", `/v1/usage/${original.id}/amend`, { body: { meter: "nope" } })).body.error.code).toBe("UNKNOWN_METER");
    expect((await api("POST", `/v1/usage/${original.id}/amend`, { body: { reason: "only a reason" } })).status).toBe(400);
    expect((await api("POST", `/v1/usage/${original.id}/amend`, { body: { subjectId: "someone-else" } })).status).toBe(400);
    const moved = await api("POST", `/v1/usage/${original.id}/amend`, { body: { meter: "api_call", timestamp: earlier } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body.event).toMatchObject({ meter: "api_call", unit: "call", amount: 2, timestamp: earlier, subjectId });
    expect(await used(subjectId, "fax")).toBe(0);
    expect(await used(subjectId, "api_call")).toBe(2);
  });
});

/** The export as records keyed by its header row. */
async function exportCsv(query: string): Promise<Record<string, string>[]> {
  const res = await exports.default.fetch(
    new Request(`http://tally.test/v1/usage/export.csv?${query}`, { headers: { authorization: `Bearer ${env.SERVICE_API_KEY}` } }),
  );
  const [header, ...rows] = parseCsv(await res.text());
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i] ?? ""])));
}
