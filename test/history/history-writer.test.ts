import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { HistoryWriter } from "../../src/history/history-writer";
import { writerCount, writerIndex } from "../../src/history/history-writer-client";
import { api, counterTotal, historyRows, ledger, uniqueSubject } from "../helpers/api";

/** Subjects whose ledgers flush through the same writer. */
function subjectsOfOneWriter(n: number, prefix: string): { subjects: string[]; writer: string } {
  const writers = writerCount(env.HISTORY_WRITERS);
  const subjects: string[] = [];
  while (subjects.length < n) {
    const s = uniqueSubject(prefix);
    if (writerIndex(s, writers) === 0) subjects.push(s);
  }
  return { subjects, writer: "history-writer-0" };
}

/** A stored event's JSON, as a ledger's outbox holds it. */
function eventBody(subjectId: string, amountE4: number): string {
  const now = Date.now();
  return JSON.stringify({
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    subjectId,
    meter: "fax",
    unit: "page",
    amountE4,
    operation: "add",
    occurredAt: now,
    receivedAt: now,
    source: "api",
    idempotencyKey: null,
    dimensions: {},
    metadata: {},
  });
}

async function writerCommits(name: string): Promise<number> {
  return runInDurableObject(env.HISTORY_WRITER.getByName(name), (instance) =>
    (instance as unknown as { commits: { commitCount(): number } }).commits.commitCount(),
  );
}

async function recordOne(subjectId: string, key: string): Promise<void> {
  const res = await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 2, idempotencyKey: key } });
  expect(res.status).toBe(201);
}

describe("history writer", () => {
  it("spreads subjects over the writers, always the same writer for a subject", () => {
    expect(writerCount(undefined)).toBe(4);
    for (const bad of ["0", "-1", "1.5", "abc", "257", ""]) expect(writerCount(bad)).toBe(4);
    expect(writerCount("1")).toBe(1);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i += 1) {
      const index = writerIndex(`user-${i}`, 4);
      expect(index).toBe(writerIndex(`user-${i}`, 4));
      seen.add(index);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    for (const odd of ["", "__proto__", "\ud800", "😀".repeat(100)]) expect(writerIndex(odd, 4)).toBeLessThan(4);
  });

  it("writes many ledgers' flushes in fewer D1 batches, each event once", async () => {
    const { subjects, writer } = subjectsOfOneWriter(24, "coalesce");
    for (const s of subjects) await recordOne(s, `k-${s}`);
    const before = await writerCommits(writer);
    await Promise.all(subjects.map((s) => runDurableObjectAlarm(env.LEDGER.getByName(s))));
    const commits = (await writerCommits(writer)) - before;
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThan(subjects.length / 2);
    for (const s of subjects) {
      expect(await historyRows(s)).toBe(1);
      expect((await ledger(s).state()).outboxSize).toBe(0);
      expect(await counterTotal(s, "fax")).toBe(2);
    }
  });

  it("a flush that D1 refuses fails only its own ledger, even when it shares a batch", async () => {
    const { subjects } = subjectsOfOneWriter(8, "isolate");
    const poisoned = subjects[3]!;
    for (const s of subjects) await recordOne(s, `k-${s}`);
    await env.DB.exec(
      `CREATE TRIGGER refuse_one_subject BEFORE INSERT ON usage_events WHEN NEW.subject_id = '${poisoned}' BEGIN SELECT RAISE(ABORT, 'refused'); END;`,
    );
    try {
      await Promise.all(subjects.map((s) => runDurableObjectAlarm(env.LEDGER.getByName(s))));
      for (const s of subjects) {
        expect(await historyRows(s)).toBe(s === poisoned ? 0 : 1);
        expect((await ledger(s).state()).outboxSize).toBe(s === poisoned ? 1 : 0);
      }
    } finally {
      await env.DB.exec("DROP TRIGGER IF EXISTS refuse_one_subject;");
    }
    // The refused ledger backed off and re-armed its alarm; it delivers once D1 takes it.
    await runDurableObjectAlarm(env.LEDGER.getByName(poisoned));
    expect(await historyRows(poisoned)).toBe(1);
    expect((await ledger(poisoned).state()).outboxSize).toBe(0);
  });

  it("writing the same entries twice changes nothing", async () => {
    const subjectId = uniqueSubject("twice");
    const entries = [{ kind: "event" as const, body: eventBody(subjectId, 30_000) }];
    const stub = env.HISTORY_WRITER.getByName("history-writer-twice");
    await stub.write(entries);
    await stub.write(entries);
    expect(await historyRows(subjectId)).toBe(1);
    const summary = await env.DB.prepare("SELECT sum(events) AS n FROM usage_rollup_subject_days WHERE subject_id = ?")
      .bind(subjectId)
      .first<{ n: number }>();
    expect(summary?.n).toBe(1);
    expect(await stub.write([])).toEqual({ ok: true, usageSubscribed: false });
  });

  it("logs D1 rows written per batch when METRICS_LOG is on", async () => {
    const subjectId = uniqueSubject("writer-metrics");
    const body = eventBody(subjectId, 10_000);
    const lines = await runInDurableObject(env.HISTORY_WRITER.getByName("history-writer-metrics"), async (_instance, state) => {
      const logged: string[] = [];
      const spy = vi.spyOn(console, "log").mockImplementation((line: string) => void logged.push(line));
      try {
        await new HistoryWriter(state, { ...env, METRICS_LOG: "true" }).write([{ kind: "event", body }]);
      } finally {
        spy.mockRestore();
      }
      return logged.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === "metrics.history_write");
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ submissions: 1, entries: 1, events: 1 });
    expect(lines[0]!.d1RowsWritten).toBeGreaterThan(1);
  });
});
