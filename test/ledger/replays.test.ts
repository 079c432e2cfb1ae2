import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LedgerEventInput, RecordOutcome } from "../../src/ledger/contract";
import { flushOutbox } from "../../src/ledger/history-flush";
import { LEDGER_SCHEMA_VERSION } from "../../src/ledger/ledger-schema";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { flushLedger, historyRows, ledger, uniqueSubject } from "../helpers/api";
import { counterInput } from "../helpers/ledger-inputs";

function input(subjectId: string, key: string, overrides: Partial<LedgerEventInput> = {}): LedgerEventInput {
  return counterInput(subjectId, key, {
    amountE4: 20_000,
    occurredAt: Date.now() - 5000,
    dimensions: { schoolId: "s1" },
    metadata: { note: key },
    source: "batch",
    ...overrides,
  });
}

function eventOf(outcome: RecordOutcome | undefined) {
  if (!outcome || outcome.status === "denied") throw new Error("no event");
  return outcome.event;
}

describe("replays of keys that keep only their event's id", () => {
  it("answer the original event from the outbox, then from history once flushed, in one call", async () => {
    const subjectId = uniqueSubject("replay");
    const first = await ledger(subjectId).record(subjectId, [input(subjectId, "a"), input(subjectId, "b")]);
    const waiting = await ledger(subjectId).record(subjectId, [input(subjectId, "a")]);
    expect(waiting).toEqual([{ status: "duplicate", event: eventOf(first[0]) }]);

    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(2);
    const c = await ledger(subjectId).record(subjectId, [input(subjectId, "c")]);
    // b and a from history, c from the outbox, a changed body is a conflict answering the original.
    const again = await ledger(subjectId).record(subjectId, [
      input(subjectId, "b"),
      input(subjectId, "c"),
      input(subjectId, "a", { fingerprint: "other" }),
      input(subjectId, "d"),
    ]);
    expect(again.map((o) => o.status)).toEqual(["duplicate", "duplicate", "conflict", "created"]);
    expect(eventOf(again[0])).toEqual(eventOf(first[1]));
    expect(eventOf(again[1])).toEqual(eventOf(c[0]));
    expect(eventOf(again[2])).toEqual(eventOf(first[0]));
  });

  it("answer each concurrent call its own replays, mixed with new events, once flushed", async () => {
    const subjectId = uniqueSubject("replay-race");
    const keys = Array.from({ length: 12 }, (_, i) => `r${i}`);
    const first = await ledger(subjectId).record(
      subjectId,
      keys.map((k) => input(subjectId, k)),
    );
    await flushLedger(subjectId);
    // Every call replays one flushed key (read from D1 after its transaction) and records a new one.
    const answers = await Promise.all(
      keys.map((k, i) => ledger(subjectId).record(subjectId, [input(subjectId, k), input(subjectId, `new-${i}`)])),
    );
    answers.forEach((answer, i) => {
      expect(answer.map((o) => o.status)).toEqual(["duplicate", "created"]);
      expect(eventOf(answer[0])).toEqual(eventOf(first[i]));
    });
  });

  it("answer a consume's original event and decision after the flush", async () => {
    const subjectId = uniqueSubject("replay-consume");
    const first = await ledger(subjectId).consume(subjectId, input(subjectId, "k", { source: "consume" }));
    await flushLedger(subjectId);
    const again = await ledger(subjectId).consume(subjectId, input(subjectId, "k", { source: "consume" }));
    expect(first.status).toBe("created");
    expect(again).toEqual({ ...first, status: "duplicate" });
  });
});

describe("a commit under a key already used", () => {
  it("answers the key's event from history, on the commit and on its replay", async () => {
    const subjectId = uniqueSubject("replay-commit");
    const [billed] = await ledger(subjectId).record(subjectId, [input(subjectId, "fax-1", { fingerprint: "fax-1:20000" })]);
    await flushLedger(subjectId);
    const held = await ledger(subjectId).reserve(subjectId, {
      meter: "fax",
      kind: "counter",
      unit: "page",
      amountE4: 20_000,
      ttlMs: 60_000,
      idempotencyKey: null,
      fingerprint: "r",
      dimensions: {},
      metadata: {},
    });
    if (held.status !== "created") throw new Error(held.status);
    const commit = { amountE4: 20_000, occurredAt: null, source: "webhook", idempotencyKey: "fax-1" };
    const committed = await ledger(subjectId).commitReservation(subjectId, held.reservation.id, commit);
    const again = await ledger(subjectId).commitReservation(subjectId, held.reservation.id, commit);
    expect(committed).toMatchObject({ status: "committed", event: eventOf(billed) });
    expect(again).toMatchObject({ status: "already_committed", event: eventOf(billed) });
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(1);
  });
});

describe("ledger schema upgrade v4 → v5 (lean idempotency keys)", () => {
  it("keeps keys that hold a copy of their event replaying, and new keys keep only the id", async () => {
    const subjectId = uniqueSubject("upgrade-v5");
    await ledger(subjectId).record(subjectId, [input(subjectId, "fresh")]);
    const copied = { ...input(subjectId, "old"), id: "evt_old", receivedAt: 1 };
    const result = await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => {
      const sql = state.storage.sql;
      // Back to v4's tables: keys in a rowid table with a created_at index, results with the event copied.
      sql.exec(`DROP TABLE idempotency_keys;
        CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL, created_at INTEGER NOT NULL);
        CREATE INDEX idx_idempotency_keys_created ON idempotency_keys (created_at);
        DROP TABLE outbox;
        CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL);
        UPDATE ledger_meta SET value = '4' WHERE key = 'schema_version';`);
      sql.exec("INSERT INTO idempotency_keys VALUES ('old', 'fp-old', ?, ?)", JSON.stringify({ event: copied }), Date.now());
      const store = new LedgerStore(sql);
      store.migrate();
      const outcomes = state.storage.transactionSync(() =>
        store.applyAll(subjectId, [input(subjectId, "old"), input(subjectId, "new")], Date.now()),
      );
      return {
        version: store.getMeta("schema_version"),
        withoutRowid: sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'idempotency_keys'").one().sql,
        indexes: sql.exec("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'idempotency_keys'").toArray(),
        outcomes,
        kept: sql.exec<{ result: string }>("SELECT result FROM idempotency_keys WHERE key = 'new'").one().result,
      };
    });
    expect(result.version).toBe(String(LEDGER_SCHEMA_VERSION));
    expect(result.withoutRowid).toContain("WITHOUT ROWID");
    expect(result.indexes).toEqual([]);
    expect(result.outcomes[0]).toEqual({ status: "duplicate", event: copied });
    expect(result.outcomes[1]!.status).toBe("created");
    expect(JSON.parse(result.kept)).toEqual({ eventId: eventOf(result.outcomes[1]).id });
  });
});

describe("ledger schema upgrade v5 → v6 (outbox rows holding a call's entries)", () => {
  it("flushes the rows written before, one entry each, in order with the new ones", async () => {
    const subjectId = uniqueSubject("upgrade-v6");
    await ledger(subjectId).record(subjectId, [input(subjectId, "warm")]);
    await flushLedger(subjectId);
    const old = [1, 2].map((i) => ({ ...input(subjectId, `old-${i}`), id: `evt_old${i}_${subjectId}`, receivedAt: Date.now() }));
    const result = await runInDurableObject(env.LEDGER.getByName(subjectId), async (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec(`DROP TABLE outbox;
        CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL);
        UPDATE ledger_meta SET value = '5' WHERE key = 'schema_version';`);
      for (const event of old) sql.exec("INSERT INTO outbox (kind, body) VALUES ('event', ?)", JSON.stringify(event));
      const store = new LedgerStore(sql);
      store.migrate();
      state.storage.transactionSync(() => store.applyAll(subjectId, [input(subjectId, "n1"), input(subjectId, "n2")], Date.now()));
      const sizeBefore = store.outbox.size();
      const rows = sql.exec("SELECT kind, entries FROM outbox ORDER BY seq").toArray();
      const flushed = await flushOutbox(store.outbox, subjectId, env);
      return { sizeBefore, rows, flushed, version: store.getMeta("schema_version") };
    });
    expect(result).toEqual({
      sizeBefore: 4,
      rows: [
        { kind: "event", entries: null },
        { kind: "event", entries: null },
        { kind: "event", entries: 2 },
      ],
      flushed: { flushed: 4, remaining: 0 },
      version: String(LEDGER_SCHEMA_VERSION),
    });
    expect(await historyRows(subjectId)).toBe(5);
  });
});
