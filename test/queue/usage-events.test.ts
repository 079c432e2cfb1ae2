import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, counterTotal, flushLedger, historyRows, uniqueSubject } from "../helpers/api";
import { USAGE_QUEUE_MAX_RETRIES } from "../../src/domain/queue-messages";
import wranglerToml from "../../wrangler.toml?raw";
import { deadLetters, deliver } from "../helpers/queue";

/** Distinct receivedAt values of a subject's history: one per ledger call, since a call stamps all its events alike. */
async function ledgerCallsFor(subjectId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(DISTINCT received_at) AS n FROM usage_events WHERE subject_id = ?")
    .bind(subjectId)
    .first<{ n: number }>();
  return row!.n;
}

describe("usage-events consumer", () => {
  it("applies 100 seed messages over 7 subjects with one ledger call each, and a redelivery changes nothing", async () => {
    const subjects = Array.from({ length: 7 }, () => uniqueSubject("q"));
    const messages = Array.from({ length: 100 }, (_, i) => ({
      id: `seed-${i}`,
      body: { userId: subjects[i % 7]!, entitlementKey: "api_call", amount: (i % 3) + 1, idempotencyKey: `seed-key-${i}`, metadata: { i } },
    }));
    const first = await deliver("usage-events", messages);
    expect(first.result.explicitAcks.sort()).toEqual(messages.map((m) => m.id).sort());
    expect(first.result.retryMessages).toEqual([]);
    for (const [k, subjectId] of subjects.entries()) {
      const expected = messages.filter((_, i) => i % 7 === k).reduce((s, m) => s + m.body.amount, 0);
      expect(await counterTotal(subjectId, "api_call")).toBe(expected);
      await flushLedger(subjectId);
      expect(await ledgerCallsFor(subjectId)).toBe(1);
    }
    const again = await deliver("usage-events", messages);
    expect(again.result.explicitAcks).toHaveLength(100);
    for (const [k, subjectId] of subjects.entries()) {
      const expected = messages.filter((_, i) => i % 7 === k).reduce((s, m) => s + m.body.amount, 0);
      expect(await counterTotal(subjectId, "api_call")).toBe(expected);
      await flushLedger(subjectId);
    }
    const { n } = (await env.DB.prepare(`SELECT count(*) AS n FROM usage_events WHERE subject_id IN (${subjects.map(() => "?").join(",")})`)
      .bind(...subjects)
      .first<{ n: number }>())!;
    expect(n).toBe(100);
  });

  it("counts a keyless message once however often the queue delivers it", async () => {
    const subjectId = uniqueSubject("q");
    const message = { id: "keyless-1", body: { subjectId, meter: "fax", amount: 2 } };
    await deliver("usage-events", [message]);
    await deliver("usage-events", [message]);
    expect(await counterTotal(subjectId, "fax")).toBe(2);
  });

  it("acks, retries and dead-letters a mixed batch exactly right", async () => {
    await api("PUT", "/v1/plans/queue-hard-1", { body: { entitlements: { fax: { limit: 1 } } } });
    const limited = uniqueSubject("q");
    await api("PUT", `/v1/subjects/${limited}`, { body: { planId: "queue-hard-1" } });
    const ok = uniqueSubject("q");
    const broken = uniqueSubject("q");
    await api("POST", "/v1/usage", { body: { subjectId: broken, meter: "fax" } });
    // A ledger that fails every call, as an unavailable one would: its storage lost a table.
    await runInDurableObject(env.LEDGER.getByName(broken), (_i, state) =>
      state.storage.sql.exec("ALTER TABLE usage_days RENAME TO usage_days_gone"),
    );

    const { result, delays } = await deliver("usage-events", [
      { id: "valid", body: { subjectId: ok, meter: "fax", amount: 1, idempotencyKey: "v1" } },
      { id: "bad-schema", body: { subjectId: ok, meter: "fax", amount: -5 } },
      { id: "no-meter", body: { subjectId: ok, meter: "teleport" } },
      { id: "consume-ok", body: { subjectId: limited, meter: "fax", amount: 1, mode: "consume", idempotencyKey: "c1" } },
      { id: "over-limit", body: { subjectId: limited, meter: "fax", amount: 1, mode: "consume", idempotencyKey: "c2" } },
      { id: "transient-1", body: { subjectId: broken, meter: "fax", idempotencyKey: "t1" }, attempts: 1 },
      { id: "transient-3", body: { subjectId: broken, meter: "fax", idempotencyKey: "t3" }, attempts: 3 },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["bad-schema", "consume-ok", "no-meter", "over-limit", "valid"]);
    expect(result.retryMessages.map((r) => r.msgId).sort()).toEqual(["transient-1", "transient-3"]);
    expect(delays).toEqual({ "transient-1": 5, "transient-3": 20 });
    const letters = Object.fromEntries((await deadLetters()).map((d) => [d.message_id, d.reason]));
    expect(letters).toMatchObject({ "bad-schema": "VALIDATION_FAILED", "no-meter": "UNKNOWN_METER", "over-limit": "LIMIT_EXCEEDED" });
    expect(letters).not.toHaveProperty("valid");
    expect(await counterTotal(ok, "fax")).toBe(1);
    expect(await counterTotal(limited, "fax")).toBe(1);

    // The ledger comes back; the retried messages are applied once.
    await runInDurableObject(env.LEDGER.getByName(broken), (_i, state) =>
      state.storage.sql.exec("ALTER TABLE usage_days_gone RENAME TO usage_days"),
    );
    const retried = await deliver("usage-events", [
      { id: "transient-1", body: { subjectId: broken, meter: "fax", idempotencyKey: "t1" }, attempts: 2 },
      { id: "transient-3", body: { subjectId: broken, meter: "fax", idempotencyKey: "t3" }, attempts: 4 },
    ]);
    expect(retried.result.explicitAcks).toHaveLength(2);
    expect(await counterTotal(broken, "fax")).toBe(3);
  });

  it("keeps messages that exhausted their retries from the dead-letter queue, and replays them once", async () => {
    const subjectId = uniqueSubject("q");
    // The DLQ's own delivery count starts again at 1; the letter records the six deliveries on usage-events.
    const { result } = await deliver("usage-events-dlq", [
      { id: "gave-up", body: { subjectId, meter: "fax", amount: 4, idempotencyKey: "g1" }, attempts: 1 },
    ]);
    expect(result.ackAll).toBe(true);
    const list = await api("GET", "/v1/dead-letters");
    const letter = list.body.data.find((d: { messageId: string }) => d.messageId === "gave-up");
    expect(letter).toMatchObject({
      reason: "RETRIES_EXHAUSTED",
      attempts: 6,
      body: { subjectId, meter: "fax", amount: 4 },
      replayedAt: null,
    });

    const first = await api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(first.status).toBe(200);
    expect(first.body.result.status).toBe("applied");
    const second = await api("POST", `/v1/dead-letters/${letter.id}/replay`);
    expect(second.body.result.status).toBe("duplicate");
    expect(await counterTotal(subjectId, "fax")).toBe(4);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(1);
    expect((await api("POST", "/v1/dead-letters/dl_missing/replay")).status).toBe(404);
  });

  it("takes USAGE_QUEUE_MAX_RETRIES from the usage-events consumer's max_retries in wrangler.toml", () => {
    const consumer = wranglerToml
      .split("[[queues.consumers]]")
      .map((table) => table.split(/^\[/m)[0]!)
      .find((table) => /^queue\s*=\s*"usage-events"\s*$/m.test(table));
    expect(Number(/^max_retries\s*=\s*(\d+)\s*$/m.exec(consumer ?? "")?.[1])).toBe(USAGE_QUEUE_MAX_RETRIES);
  });

  it("counts a dead letter's attempts across the queue and its dead-letter queue", async () => {
    await deliver("usage-events-dlq", [{ id: "gave-up-twice", body: { subjectId: uniqueSubject("q"), meter: "fax" }, attempts: 2 }]);
    const letter = (await api("GET", "/v1/dead-letters")).body.data.find((d: { messageId: string }) => d.messageId === "gave-up-twice");
    expect(letter.attempts).toBe(USAGE_QUEUE_MAX_RETRIES + 1 + 1);
  });

  it("replays a refused message as rejected again until the cause is fixed", async () => {
    await deliver("usage-events", [{ id: "needs-meter", body: { subjectId: uniqueSubject("q"), meter: "later_meter", amount: 1 } }]);
    const letter = (await api("GET", "/v1/dead-letters")).body.data.find((d: { messageId: string }) => d.messageId === "needs-meter");
    expect((await api("POST", `/v1/dead-letters/${letter.id}/replay`)).body.result).toMatchObject({
      status: "rejected",
      reason: "UNKNOWN_METER",
    });
    await api("PUT", "/v1/meters/later_meter", { body: { unit: "thing" } });
    expect((await api("POST", `/v1/dead-letters/${letter.id}/replay`)).body.result.status).toBe("applied");
  });
});

describe("POST /v1/usage/async", () => {
  it("enqueues and the consumer applies the events once", async () => {
    const subjectId = uniqueSubject("async");
    const events = [
      { subjectId, meter: "api_call", amount: 2, idempotencyKey: "a1" },
      { subjectId, meter: "api_call", amount: 3 },
      { userId: subjectId, entitlementKey: "api_call", amount: 5, idempotencyKey: "a3" },
    ];
    const res = await api("POST", "/v1/usage/async", { body: { events } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ enqueued: 3 });
    await expect.poll(() => counterTotal(subjectId, "api_call"), { timeout: 10_000, interval: 100 }).toBe(10);
    expect((await api("POST", "/v1/usage/async", { body: { events: [{ subjectId, meter: "fax", amount: -1 }] } })).status).toBe(400);
  });
});

describe("usage-events consumer, strict shapes", () => {
  it("dead-letters a message with an unknown field as VALIDATION_FAILED, naming it, and bills nobody", async () => {
    const subjectId = uniqueSubject("q");
    const userId = uniqueSubject("q");
    const { result } = await deliver("usage-events", [
      { id: "stray-user", body: { subjectId, meter: "fax", userId, entitlementKey: "fax", idempotencyKey: "s1" } },
      { id: "misspelt", body: { userId, type: "fax", usageAmount: 1, ammount: 9 } },
      { id: "consume-stray", body: { subjectId, meter: "fax", mode: "consume", priority: 1 } },
      { id: "consume-ok-strict", body: { subjectId, meter: "fax", mode: "consume", idempotencyKey: "s2" } },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["consume-ok-strict", "consume-stray", "misspelt", "stray-user"]);
    const letters = Object.fromEntries((await deadLetters()).map((d) => [d.message_id, d]));
    expect(letters["stray-user"]).toMatchObject({ reason: "VALIDATION_FAILED" });
    expect(letters["stray-user"]!.detail).toContain("userId");
    expect(letters.misspelt!.detail).toContain("ammount");
    expect(letters["consume-stray"]!.detail).toContain("priority");
    expect(letters).not.toHaveProperty("consume-ok-strict");
    expect(await counterTotal(subjectId, "fax")).toBe(1);
    expect(await counterTotal(userId, "fax")).toBe(0);
  });

  it("dead-letters a message whose key is not well-formed Unicode instead of retrying it until it gives up", async () => {
    const subjectId = uniqueSubject("q");
    const { result } = await deliver("usage-events", [
      { id: "lone-key", body: { subjectId, meter: "fax", idempotencyKey: "k\ud800" } },
      { id: "lone-subject", body: { subjectId: `${subjectId}\udc00`, meter: "fax" } },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["lone-key", "lone-subject"]);
    expect(result.retryMessages).toEqual([]);
    const letters = Object.fromEntries((await deadLetters()).map((d) => [d.message_id, d]));
    expect(letters["lone-key"]).toMatchObject({ reason: "VALIDATION_FAILED" });
    expect(letters["lone-key"]!.detail).toContain("idempotencyKey");
    expect(letters["lone-subject"]!.detail).toContain("subjectId");
    expect(await counterTotal(subjectId, "fax")).toBe(0);
  });
});
