import type { Decision } from "../domain/entitlements";
import type { StoredEvent } from "../domain/stored-event";
import { DAY_MS } from "../domain/usage-window";

/** Idempotency keys outlive the 35-day late-event window with a margin. */
export const IDEMPOTENCY_RETENTION_MS = 40 * 24 * 60 * 60 * 1000;

/** What an idempotency key remembers: the event's id, and the decision when it was a consume. */
export interface KeptResult {
  eventId: string;
  decision?: Decision;
}

/**
 * A held key. Keys kept before schema v5 carry a copy of their event (`event`); newer ones only
 * its id, and the event is read from the outbox or history.
 */
export type HeldKey = { fingerprint: string; event?: StoredEvent } & KeptResult;

/**
 * The subject's idempotency keys: which event each key stands for, with the fingerprint of the
 * request that made it, kept for `IDEMPOTENCY_RETENTION_MS` and at most a day longer. One row
 * per key and no other index: a key costs one row written, and one more when purged.
 */
export class IdempotencyKeys {
  /** When the oldest key was stored: undefined until read, null when there is none. */
  private oldestKeyAt: number | null | undefined;

  constructor(private readonly sql: SqlStorage) {}

  /** Keeps one key for the result it produced; the caller has checked that the key is new. */
  keep(key: string, fingerprint: string, result: KeptResult, nowMs: number): void {
    this.sql.exec(
      "INSERT INTO idempotency_keys (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)",
      key,
      fingerprint,
      JSON.stringify(result),
      nowMs,
    );
    this.storedAt(nowMs);
  }

  /**
   * Claims, in one statement, the keys of a JSON array of `{ f: fingerprint, e: StoredEvent }`
   * (events without a key are skipped); answers the keys that were new and are now held.
   */
  claimEach(json: string, nowMs: number): Set<string> {
    const claimed = new Set<string>();
    for (const { key } of this.sql.exec<{ key: string }>(
      `INSERT INTO idempotency_keys (key, fingerprint, result, created_at)
       SELECT value ->> '$.e.idempotencyKey', value ->> '$.f', json_object('eventId', value ->> '$.e.id'), ?2
       FROM json_each(?1) WHERE value ->> '$.e.idempotencyKey' IS NOT NULL
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      json,
      nowMs,
    )) {
      claimed.add(key);
    }
    if (claimed.size > 0) this.storedAt(nowMs);
    return claimed;
  }

  /** What a key stands for, or undefined when it is new. */
  held(key: string): HeldKey | undefined {
    const row = this.sql
      .exec<{ fingerprint: string; result: string }>("SELECT fingerprint, result FROM idempotency_keys WHERE key = ?", key)
      .toArray()[0];
    return row && heldKey(row.fingerprint, row.result);
  }

  /** What each of `keys` stands for, in one read; new keys are absent from the map. */
  heldEach(keys: string[]): Map<string, HeldKey> {
    const held = new Map<string, HeldKey>();
    if (keys.length === 0) return held;
    for (const row of this.sql.exec<{ key: string; fingerprint: string; result: string }>(
      "SELECT key, fingerprint, result FROM idempotency_keys WHERE key IN (SELECT value FROM json_each(?))",
      JSON.stringify([...new Set(keys)]),
    )) {
      held.set(row.key, heldKey(row.fingerprint, row.result));
    }
    return held;
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM idempotency_keys").one().n;
  }

  /**
   * Deletes the keys of whole days past retention, unless the oldest one is not due yet. Without an
   * index on created_at a purge reads every key, so days are purged together: at most one purge a
   * day (an index entry would cost every key another row written, twice).
   */
  purge(nowMs: number): void {
    const due = this.nextExpiry();
    if (due === null || due > nowMs) return;
    const cutoff = Math.floor((nowMs - IDEMPOTENCY_RETENTION_MS) / DAY_MS) * DAY_MS;
    this.sql.exec("DELETE FROM idempotency_keys WHERE created_at < ?", cutoff);
    this.readOldestKeyAt();
  }

  /** When the oldest key's day may be purged, or null when there is none. */
  nextExpiry(): number | null {
    const oldest = this.oldestKeyAt === undefined ? this.readOldestKeyAt() : this.oldestKeyAt;
    return oldest === null ? null : (Math.floor(oldest / DAY_MS) + 1) * DAY_MS + IDEMPOTENCY_RETENTION_MS;
  }

  /** Keys stored now can only be newer than the oldest one, except in an object that had none. */
  private storedAt(nowMs: number): void {
    if (this.oldestKeyAt === null) this.oldestKeyAt = nowMs;
  }

  private readOldestKeyAt(): number | null {
    this.oldestKeyAt = this.sql.exec<{ t: number | null }>("SELECT min(created_at) AS t FROM idempotency_keys").one().t;
    return this.oldestKeyAt;
  }
}

function heldKey(fingerprint: string, result: string): HeldKey {
  const kept = JSON.parse(result) as { eventId?: string; event?: StoredEvent; decision?: Decision };
  return { fingerprint, eventId: kept.eventId ?? kept.event!.id, event: kept.event, decision: kept.decision };
}
