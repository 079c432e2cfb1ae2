import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SubjectLedger } from "../../src/ledger/subject-ledger";
import { api, counterTotal, flushLedger, historyRows, ledger, uniqueSubject } from "../helpers/api";

/** Makes D1 itself refuse history writes, the way an outage would. */
async function breakHistoryWrites(): Promise<void> {
  await env.DB.exec("CREATE TRIGGER fail_history_writes BEFORE INSERT ON usage_events BEGIN SELECT RAISE(ABORT, 'injected outage'); END;");
}

async function repairHistoryWrites(): Promise<void> {
  await env.DB.exec("DROP TRIGGER IF EXISTS fail_history_writes;");
}

async function recordSome(subjectId: string, n: number): Promise<void> {
  const events = Array.from({ length: n }, (_, i) => ({ subjectId, meter: "fax", amount: 1, idempotencyKey: `e${i}` }));
  const res = await api("POST", "/v1/usage/batch", { body: { events } });
  expect(res.status).toBe(200);
}

describe("ledger outbox → D1 history", () => {
  it("keeps events through a failed flush and delivers them once on the next alarm", async () => {
    const subjectId = uniqueSubject();
    await breakHistoryWrites();
    try {
      await recordSome(subjectId, 5);
      await flushLedger(subjectId);
      expect(await historyRows(subjectId)).toBe(0);
      expect((await ledger(subjectId).state()).outboxSize).toBe(5);
    } finally {
      await repairHistoryWrites();
    }
    // The failed flush re-armed the alarm with a back-off; run it now.
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(5);
    expect((await ledger(subjectId).state()).outboxSize).toBe(0);
    expect(await counterTotal(subjectId, "fax")).toBe(5);
  });

  it("ignores events that reach D1 twice (removal from the outbox lost)", async () => {
    const subjectId = uniqueSubject();
    await recordSome(subjectId, 3);
    const stub = env.LEDGER.getByName(subjectId);
    const pending = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql
        .exec<{ kind: string; body: string; entries: number | null }>("SELECT kind, body, entries FROM outbox ORDER BY seq")
        .toArray(),
    );
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(3);
    // Put the already-delivered events back, as if the delete after D1's commit had been lost.
    await runInDurableObject(stub, (_instance, state) => {
      for (const row of pending) {
        state.storage.sql.exec("INSERT INTO outbox (kind, body, entries) VALUES (?, ?, ?)", row.kind, row.body, row.entries);
      }
    });
    await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 1 } });
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(4);
    expect((await ledger(subjectId).state()).outboxSize).toBe(0);
  });

  it("flushes more events than one D1 statement carries", async () => {
    const subjectId = uniqueSubject();
    const events = Array.from({ length: 1000 }, (_, i) => ({
      subjectId,
      meter: "api_call",
      idempotencyKey: `big-${i}`,
      metadata: { note: "y".repeat(2000) },
    }));
    // 1000 events × 2 KB exceed the 1 MB chunk: the flush splits them.
    for (let i = 0; i < events.length; i += 400) {
      const res = await api("POST", "/v1/usage/batch", { body: { events: events.slice(i, i + 400) } });
      expect(res.status).toBe(200);
    }
    while ((await ledger(subjectId).state()).outboxSize > 0) await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(1000);
  });

  it("flushes calls' rows of entries whole, several to a chunk, over more than one flush", async () => {
    const subjectId = uniqueSubject();
    for (let call = 0; call < 12; call += 1) {
      const events = Array.from({ length: 400 }, (_, i) => ({ subjectId, meter: "api_call", idempotencyKey: `r${call}-${i}` }));
      expect((await api("POST", "/v1/usage/batch", { body: { events } })).status).toBe(200);
    }
    expect((await ledger(subjectId).state()).outboxSize).toBe(4800);
    // One alarm, not flushLedger (which waits for the outbox to empty).
    await runDurableObjectAlarm(env.LEDGER.getByName(subjectId));
    // One flush carries 4 chunks of at most 1,000 entries, split across rows: 10 rows of 400, 2 wait.
    expect(await historyRows(subjectId)).toBe(4000);
    expect((await ledger(subjectId).state()).outboxSize).toBe(800);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(4800);
    expect((await ledger(subjectId).state()).outboxSize).toBe(0);
  });

  it("arms the alarm when a new instance finds entries waiting and no alarm (a crash between commit and setAlarm)", async () => {
    const subjectId = uniqueSubject("rearm");
    await recordSome(subjectId, 3);
    const armed = await runInDurableObject(env.LEDGER.getByName(subjectId), async (_instance, state) => {
      await state.storage.deleteAlarm();
      const before = await state.storage.getAlarm();
      new SubjectLedger(state, env);
      // The constructor's check runs under blockConcurrencyWhile; a later call waits for it.
      await state.blockConcurrencyWhile(async () => {});
      return { before, after: await state.storage.getAlarm() };
    });
    expect(armed.before).toBeNull();
    expect(armed.after).not.toBeNull();
    await expect.poll(() => historyRows(subjectId), { timeout: 10_000, interval: 200 }).toBe(3);
  });

  it("flushes on its own within a couple of seconds", async () => {
    const subjectId = uniqueSubject();
    await recordSome(subjectId, 2);
    await expect.poll(() => historyRows(subjectId), { timeout: 5000, interval: 100 }).toBe(2);
  });

  it("purges idempotency keys after the retention window", async () => {
    const subjectId = uniqueSubject();
    await recordSome(subjectId, 2);
    await flushLedger(subjectId);
    const stub = env.LEDGER.getByName(subjectId);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE idempotency_keys SET created_at = created_at - ?", 41 * 86_400_000);
    });
    // Ageing the keys behind the ledger's back: a fresh instance reads their times again (a live
    // one knows them already, and time passes for it).
    await runInDurableObject(stub, (_instance, state) => state.abort("keys aged by the test")).catch(() => undefined);
    await flushLedger(subjectId);
    expect((await ledger(subjectId).state()).idempotencyKeys).toBe(0);
  });
});
