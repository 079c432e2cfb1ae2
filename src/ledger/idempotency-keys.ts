import type { Decision } from "../domain/entitlements";
import type { StoredEvent } from "../domain/stored-event";

/** Idempotency keys outlive the 35-day late-event window with a margin. */
export const IDEMPOTENCY_RETENTION_MS = 40 * 24 * 60 * 60 * 1000;

/** What an idempotency key remembers: the event, and the decision when it was a consume. */
export interface KeptResult {
  event: StoredEvent;
  decision?: Decision;
}

export type HeldKey = { fingerprint: string } & KeptResult;

/**
 * The subject's idempotency keys: which event each key stands for, with the fingerprint of the
 * request that made it, kept for `IDEMPOTENCY_RETENTION_MS`.
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

  /** Rewrites what a held key stands for (an event that gained its grant draws after the key was claimed). */
  replace(key: string, result: KeptResult): void {
    this.sql.exec("UPDATE idempotency_keys SET result = ? WHERE key = ?", JSON.stringify(result), key);
  }

  /**
   * Claims, in one statement, the keys of a JSON array of `{ f: fingerprint, e: StoredEvent }`
   * (events without a key are skipped); answers the keys that were new and are now held.
   */
  claimEach(json: string, nowMs: number): Set<string> {
    const claimed = new Set<string>();
    for (const { key } of this.sql.exec<{ key: string }>(
      `INSERT INTO idempotency_keys (key, fingerprint, result, created_at)
       SELECT value ->> '$.e.idempotencyKey', value ->> '$.f', '{"event":' || (value -> '$.e') || '}', ?2
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
    return row && { fingerprint: row.fingerprint, ...(JSON.parse(row.result) as KeptResult) };
  }

  /** What each of `keys` stands for, in one read; new keys are absent from the map. */
  heldEach(keys: string[]): Map<string, HeldKey> {
    const held = new Map<string, HeldKey>();
    if (keys.length === 0) return held;
    for (const row of this.sql.exec<{ key: string; fingerprint: string; result: string }>(
      "SELECT key, fingerprint, result FROM idempotency_keys WHERE key IN (SELECT value FROM json_each(?))",
      JSON.stringify([...new Set(keys)]),
    )) {
      held.set(row.key, { fingerprint: row.fingerprint, ...(JSON.parse(row.result) as KeptResult) });
    }
    return held;
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM idempotency_keys").one().n;
  }

  /** Deletes keys past retention, unless the oldest one is not due yet. */
  purge(nowMs: number): void {
    const oldest = this.oldestKeyAt === undefined ? this.readOldestKeyAt() : this.oldestKeyAt;
    if (oldest === null || oldest + IDEMPOTENCY_RETENTION_MS > nowMs) return;
    this.sql.exec("DELETE FROM idempotency_keys WHERE created_at < ?", nowMs - IDEMPOTENCY_RETENTION_MS);
    this.readOldestKeyAt();
  }

  /** When the oldest key may be purged, or null when there is none. */
  nextExpiry(): number | null {
    const oldest = this.oldestKeyAt === undefined ? this.readOldestKeyAt() : this.oldestKeyAt;
    return oldest === null ? null : oldest + IDEMPOTENCY_RETENTION_MS;
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
