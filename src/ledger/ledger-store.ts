import type { StoredEvent } from "../domain/stored-event";
import type { CounterSnapshot, LedgerEventInput, RecordOutcome } from "./contract";

/** Idempotency keys outlive the 35-day late-event window with a margin. */
export const IDEMPOTENCY_RETENTION_MS = 40 * 24 * 60 * 60 * 1000;

const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  event TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_created ON idempotency_keys (created_at);
CREATE TABLE IF NOT EXISTS counters (
  meter TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  total_e4 INTEGER NOT NULL DEFAULT 0,
  event_count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (meter, period_start)
);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL);
`;

export interface OutboxEntry {
  seq: number;
  event: string;
}

/** The subject's SQLite storage: idempotency keys, period counters and the outbox to D1. All synchronous. */
export class LedgerStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    this.sql.exec(SCHEMA);
    this.sql.exec(
      "INSERT INTO ledger_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING",
      String(SCHEMA_VERSION),
    );
  }

  /** Binds the object to its subject on first use; a different subject afterwards is a routing bug. */
  claimSubject(subjectId: string): void {
    const bound = this.getMeta("subject_id");
    if (bound === null) this.setMeta("subject_id", subjectId);
    else if (bound !== subjectId) throw new Error(`ledger of '${bound}' was asked to record for '${subjectId}'`);
  }

  subjectId(): string | null {
    return this.getMeta("subject_id");
  }

  /** Checks the key, counts and queues one event. Call inside a transaction. */
  apply(subjectId: string, input: LedgerEventInput, nowMs: number): RecordOutcome {
    if (input.idempotencyKey !== null) {
      const seen = this.sql
        .exec<{ fingerprint: string; event: string }>(
          "SELECT fingerprint, event FROM idempotency_keys WHERE key = ?",
          input.idempotencyKey,
        )
        .toArray()[0];
      if (seen) {
        const event = JSON.parse(seen.event) as StoredEvent;
        return { status: seen.fingerprint === input.fingerprint ? "duplicate" : "conflict", event };
      }
    }
    const event: StoredEvent = {
      id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
      subjectId,
      meter: input.meter,
      unit: input.unit,
      amountE4: input.amountE4,
      occurredAt: input.occurredAt,
      receivedAt: nowMs,
      source: input.source,
      idempotencyKey: input.idempotencyKey,
      dimensions: input.dimensions,
      metadata: input.metadata,
    };
    const json = JSON.stringify(event);
    if (input.idempotencyKey !== null) {
      this.sql.exec(
        "INSERT INTO idempotency_keys (key, fingerprint, event, created_at) VALUES (?, ?, ?, ?)",
        input.idempotencyKey,
        input.fingerprint,
        json,
        nowMs,
      );
    }
    const period = calendarMonthOf(event.occurredAt);
    this.sql.exec(
      `INSERT INTO counters (meter, period_start, period_end, total_e4, event_count) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (meter, period_start) DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, event_count = event_count + 1`,
      event.meter,
      period.start,
      period.end,
      event.amountE4,
    );
    this.sql.exec("INSERT INTO outbox (event) VALUES (?)", json);
    return { status: "created", event };
  }

  counters(): CounterSnapshot[] {
    return this.sql
      .exec<{ meter: string; period_start: number; period_end: number; total_e4: number; event_count: number }>(
        "SELECT meter, period_start, period_end, total_e4, event_count FROM counters ORDER BY meter, period_start",
      )
      .toArray()
      .map((r) => ({
        meter: r.meter,
        periodStart: r.period_start,
        periodEnd: r.period_end,
        totalE4: r.total_e4,
        eventCount: r.event_count,
      }));
  }

  /** Oldest outbox entries, stopping before `maxBytes` of JSON (D1 binds at most 2 MB per value). */
  peekOutbox(maxEvents: number, maxBytes: number, afterSeq = 0): OutboxEntry[] {
    const entries: OutboxEntry[] = [];
    let bytes = 0;
    for (const row of this.sql.exec<{ seq: number; event: string }>(
      "SELECT seq, event FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
      afterSeq,
      maxEvents,
    )) {
      bytes += row.event.length;
      if (entries.length > 0 && bytes > maxBytes) break;
      entries.push({ seq: row.seq, event: row.event });
    }
    return entries;
  }

  removeFromOutbox(upToSeq: number): void {
    this.sql.exec("DELETE FROM outbox WHERE seq <= ?", upToSeq);
  }

  outboxSize(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
  }

  idempotencyKeyCount(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM idempotency_keys").one().n;
  }

  purgeIdempotencyKeys(nowMs: number): void {
    this.sql.exec("DELETE FROM idempotency_keys WHERE created_at < ?", nowMs - IDEMPOTENCY_RETENTION_MS);
  }

  /** When the oldest key may be purged, or null when there is none. */
  nextKeyExpiry(): number | null {
    const row = this.sql.exec<{ t: number | null }>("SELECT min(created_at) AS t FROM idempotency_keys").one();
    return row.t === null ? null : row.t + IDEMPOTENCY_RETENTION_MS;
  }

  getMeta(key: string): string | null {
    return this.sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec(
      "INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }
}

// TEMP until src/domain/periods.ts lands.
function calendarMonthOf(at: number): { start: number; end: number } {
  const d = new Date(at);
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}
