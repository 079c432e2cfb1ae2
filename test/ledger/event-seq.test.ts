import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertEventsStatement } from "../../src/db/usage-events";
import type { SubjectConfig } from "../../src/domain/entitlements";
import type { StoredEvent } from "../../src/domain/stored-event";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { api, breakLedger, flushLedger, ledger, uniqueSubject } from "../helpers/api";
import { commit, consume, reserve, subjectWith } from "../helpers/credits";
import { counterInput } from "../helpers/ledger-inputs";

/** What history says each event's place in its subject's order is, by id. */
async function historySeqs(subjectId: string): Promise<Map<string, number | null>> {
  const { results } = await env.DB.prepare("SELECT id, subject_seq AS seq FROM usage_events WHERE subject_id = ?")
    .bind(subjectId)
    .all<{ id: string; seq: number | null }>();
  return new Map(results.map((r) => [r.id, r.seq]));
}

/** The history seqs of these events, in the order given; every one must have a number. */
async function seqsOf(subjectId: string, ids: string[]): Promise<number[]> {
  await flushLedger(subjectId);
  const seqs = await historySeqs(subjectId);
  return ids.map((id) => {
    const seq = seqs.get(id);
    expect(seq, `history has ${id} with its seq`).toEqual(expect.any(Number));
    return seq!;
  });
}

function expectIncreasing(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i += 1) expect(seqs[i], `seq ${i} of ${JSON.stringify(seqs)}`).toBeGreaterThan(seqs[i - 1]!);
}

const record = async (subjectId: string, meter: string, amount: number, key?: string): Promise<string> => {
  const res = await api("POST", "/v1/usage", { body: { subjectId, meter, amount, idempotencyKey: key } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.event).not.toHaveProperty("seq");
  return res.body.event.id;
};

/** A fresh instance of the subject's ledger on the same storage, as after an eviction or a crash. */
async function restartLedger(subjectId: string): Promise<void> {
  await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => state.abort("restarted by the test")).catch(
    () => undefined,
  );
}

describe("the per-subject event sequence", () => {
  it("increases in creation order over single calls, a batch (input order, several meters), gauges, consumes, a hold's commit and an amend", async () => {
    const subjectId = await subjectWith({ fax: { limit: 1000, enforcement: "hard" } }, "seq");
    const ids: string[] = [];
    ids.push(await record(subjectId, "fax", 1, "s1"));
    ids.push(await record(subjectId, "api_call", 1));
    const batch = await api("POST", "/v1/usage/batch", {
      body: {
        events: ["api_call", "fax", "pantry_items", "fax", "api_call"].map((meter, i) => ({
          subjectId,
          meter,
          amount: i + 1,
          idempotencyKey: `b${i}`,
        })),
      },
    });
    expect(batch.status).toBe(200);
    ids.push(...batch.body.results.map((r: { id: string }) => r.id));
    const raised = await api("POST", `/v1/subjects/${subjectId}/meters/storage/increment`, { body: { amount: 7, idempotencyKey: "g1" } });
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    await flushLedger(subjectId);
    ids.push(
      (await env.DB.prepare("SELECT id FROM usage_events WHERE idempotency_key = 'g1' AND subject_id = ?")
        .bind(subjectId)
        .first<{ id: string }>())!.id,
    );
    const taken = await consume(subjectId, "fax", { amount: 2 });
    expect(taken.status, JSON.stringify(taken.body)).toBe(200);
    ids.push(taken.body.event.id);
    const held = await reserve(subjectId, "fax", { amount: 3 });
    const committed = await commit(subjectId, held.body.reservation.id);
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    ids.push(committed.body.event.id);
    await flushLedger(subjectId);
    const amended = await api("POST", `/v1/usage/${ids[0]}/amend`, { body: { amount: 4 } });
    expect(amended.status, JSON.stringify(amended.body)).toBe(200);
    expect(amended.body.event).not.toHaveProperty("seq");
    ids.push(amended.body.event.id);
    // A replay is the same event: it takes no number.
    expect((await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 1, idempotencyKey: "s1" } })).body.event.id).toBe(
      ids[0],
    );
    ids.push(await record(subjectId, "fax", 1));

    const seqs = await seqsOf(subjectId, ids);
    expectIncreasing(seqs);
    expect(new Set([...(await historySeqs(subjectId)).values()]).size).toBe(ids.length);
    // Internal only: the public event, a listing and the CSV export never show it.
    const listed = await api("GET", `/v1/usage?subjectId=${subjectId}&includeVoided=true`);
    expect(listed.body.data.length).toBe(ids.length);
    for (const event of listed.body.data) expect(Object.keys(event)).not.toContain("seq");
    expect((await api("GET", `/v1/usage/${ids[1]}`)).body).not.toHaveProperty("seq");
    const csv = await api("GET", `/v1/usage/export.csv?subjectId=${subjectId}`);
    expect(String(csv.body).split("\n")[0]).not.toMatch(/seq/i);
  });

  it("numbers a batch too large for one outbox row in input order too (a row per event)", async () => {
    const subjectId = uniqueSubject("seq-big");
    const events = Array.from({ length: 450 }, (_, i) => ({
      subjectId,
      meter: i % 2 === 0 ? "fax" : "api_call",
      idempotencyKey: `big-${i}`,
      metadata: { note: "y".repeat(2000) },
    }));
    const res = await api("POST", "/v1/usage/batch", { body: { events } });
    expect(res.status).toBe(200);
    const rows = await runInDurableObject(
      env.LEDGER.getByName(subjectId),
      (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE kind = 'event'").one().n,
    );
    expect(rows).toBe(450);
    while ((await ledger(subjectId).state()).outboxSize > 0) await flushLedger(subjectId);
    const seqs = await seqsOf(
      subjectId,
      res.body.results.map((r: { id: string }) => r.id),
    );
    expectIncreasing(seqs);
  });

  it("the ledger hands out the same numbers history stores", async () => {
    const subjectId = uniqueSubject("seq-rpc");
    const outcomes = await ledger(subjectId).record(subjectId, [
      counterInput(subjectId, "r1"),
      counterInput(subjectId, "r2", { meter: "api_call" }),
      counterInput(subjectId, "r3"),
    ]);
    const events = outcomes.map((o) => (o as { event: StoredEvent }).event);
    expectIncreasing(events.map((e) => e.seq!));
    expect(
      await seqsOf(
        subjectId,
        events.map((e) => e.id),
      ),
    ).toEqual(events.map((e) => e.seq));
  });

  it("keeps increasing across restarts of the ledger, with the outbox flushed or still waiting", async () => {
    const subjectId = uniqueSubject("seq-restart");
    const ids = [await record(subjectId, "fax", 1), await record(subjectId, "fax", 1)];
    // Flushed: the outbox is empty, so nothing left in it says how far the sequence got.
    await flushLedger(subjectId);
    await restartLedger(subjectId);
    ids.push(await record(subjectId, "api_call", 1));
    // Not flushed: the new instance starts while the events still wait in the outbox.
    await restartLedger(subjectId);
    ids.push(await record(subjectId, "fax", 1));
    await restartLedger(subjectId);
    ids.push(await record(subjectId, "fax", 1));
    const seqs = await seqsOf(subjectId, ids);
    expectIncreasing(seqs);
  });

  it("never hands out a number again after a call that rolled back", async () => {
    const subjectId = uniqueSubject("seq-rollback");
    const before = await record(subjectId, "fax", 1);
    const repair = await breakLedger(subjectId);
    // The call draws its numbers, then fails on the missing table and rolls back.
    const failed = await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 1, idempotencyKey: "f1" } });
    expect(failed.status).toBe(503);
    await repair();
    const after = [await record(subjectId, "fax", 1, "f1"), await record(subjectId, "api_call", 1)];
    const seqs = await seqsOf(subjectId, [before, ...after]);
    expectIncreasing(seqs);
    expect((await historySeqs(subjectId)).size).toBe(3);
  });

  it("in one instance, skips the numbers a rolled-back transaction drew; a new instance resumes above every stored one", async () => {
    const subjectId = uniqueSubject("seq-store");
    const config: SubjectConfig = { planId: null, billingAnchorDay: null, entitlements: {} };
    const result = await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => {
      const store = new LedgerStore(state.storage.sql);
      store.migrate();
      const apply = (keys: string[]) =>
        state.storage.transactionSync(() => {
          store.claimSubject(subjectId);
          store.setConfiguration({ subject: null, plan: null }, config);
          return store.applyAll(
            subjectId,
            keys.map((k) => counterInput(subjectId, k)),
            Date.now(),
          );
        });
      const seqOf = (outcomes: ReturnType<typeof apply>) => outcomes.map((o) => (o as { event: StoredEvent }).event.seq!);
      const first = seqOf(apply(["a", "b"]));
      let drawn: number[] = [];
      expect(() =>
        state.storage.transactionSync(() => {
          drawn = seqOf(store.applyAll(subjectId, [counterInput(subjectId, "c"), counterInput(subjectId, "d")], Date.now()));
          throw new Error("rolled back by the test");
        }),
      ).toThrow("rolled back by the test");
      const next = seqOf(apply(["c", "d"]));
      // The outbox is emptied as a flush would: only the sequence's high-water mark is left.
      state.storage.sql.exec("DELETE FROM outbox");
      const fresh = new LedgerStore(state.storage.sql);
      return { first, drawn, next, resumed: fresh.outbox.nextSeq() };
    });
    expectIncreasing([...result.first, ...result.drawn, ...result.next]);
    expect(result.next[0]).toBeGreaterThan(Math.max(...result.drawn));
    expect(result.resumed).toBeGreaterThan(Math.max(...result.next));
  });
});

describe("gauge recalculation replays moves in the ledger's order, not history's row order", () => {
  it("rebuilds the level the ledger reached when history's rows landed in reverse order", async () => {
    const subjectId = uniqueSubject("seq-gauge");
    const move = async (method: string, path: string, amount: number) => {
      const body = method === "PUT" ? { value: amount } : { amount };
      const res = await api(method, `/v1/subjects/${subjectId}/meters/storage${path}`, { body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    // Applied: set 10, +5 = 15, −20 stops at 0, +3 = 3. In reverse: +3, −20 (0), +5, set 10 = 10.
    await move("PUT", "", 10);
    await move("POST", "/increment", 5);
    await move("POST", "/decrement", 20);
    await move("POST", "/increment", 3);
    // History gets the events in the reverse of apply order (as a writer coalescing subjects, or a
    // recovery sweep, may write them); the ledger's own flush then finds them there.
    const waiting = await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) =>
      new LedgerStore(state.storage.sql).outbox.peek(100, 1e6).entries.filter((e) => e.kind === "event"),
    );
    const events = waiting.flatMap((e) => {
      const parsed = JSON.parse(e.body) as StoredEvent | StoredEvent[];
      return Array.isArray(parsed) ? parsed : [parsed];
    });
    expect(events.map((e) => e.operation)).toEqual(["set", "add", "remove", "add"]);
    for (const event of [...events].reverse()) await insertEventsStatement(env.DB, JSON.stringify([event])).run();
    await flushLedger(subjectId);
    const rowOrder = await env.DB.prepare("SELECT operation FROM usage_events WHERE subject_id = ? ORDER BY rowid")
      .bind(subjectId)
      .all<{ operation: string }>();
    expect(rowOrder.results.map((r) => r.operation)).toEqual(["add", "remove", "add", "set"]);

    await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => {
      state.storage.sql.exec("UPDATE gauges SET level_e4 = 0");
    });
    const recalculated = await api("POST", `/v1/subjects/${subjectId}/recalculate`);
    expect(recalculated.status, JSON.stringify(recalculated.body)).toBe(200);
    expect(recalculated.body.meters).toEqual(expect.arrayContaining([expect.objectContaining({ meter: "storage", before: 0, after: 3 })]));
    expect((await ledger(subjectId).state()).gauges.storage).toBe(30_000);
  });
});
