import type { StoredEvent } from "../domain/stored-event";

export type OutboxKind = "event" | "void" | "notification" | "period";

export interface OutboxEntry {
  seq: number;
  kind: OutboxKind;
  body: string;
}

/**
 * What the ledger still owes D1 and the notifications queue, in order. Entries are written in the
 * same transaction as the counters that produced them and leave only after a flush landed them.
 */
export class Outbox {
  private appends = 0;
  private events = 0;

  constructor(private readonly sql: SqlStorage) {}

  append(kind: OutboxKind, body: string): void {
    this.sql.exec("INSERT INTO outbox (kind, body) VALUES (?, ?)", kind, body);
    this.appends += 1;
    if (kind === "event") this.events += 1;
  }

  /**
   * Appends `path` of each element of the JSON array `json`, in array order, leaving out the
   * elements at the indexes in `except`: many entries in one statement, from a string already made.
   */
  appendEach(kind: OutboxKind, json: string, path: string, except: number[]): void {
    const { rowsWritten } = this.sql.exec(
      `INSERT INTO outbox (kind, body) SELECT ?1, value -> ?3 FROM json_each(?2)
       WHERE key NOT IN (SELECT value FROM json_each(?4)) ORDER BY key`,
      kind,
      json,
      path,
      JSON.stringify(except),
    );
    this.appends += 1;
    if (kind === "event") this.events += rowsWritten;
  }

  /**
   * Oldest entries after `afterSeq`, stopping before `maxBytes` (D1 binds at most 2 MB per value);
   * `exhausted` when none are left after them.
   */
  peek(maxEntries: number, maxBytes: number, afterSeq = 0): { entries: OutboxEntry[]; exhausted: boolean } {
    const entries: OutboxEntry[] = [];
    let bytes = 0;
    for (const row of this.sql.exec<{ seq: number; kind: OutboxKind; body: string }>(
      "SELECT seq, kind, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
      afterSeq,
      maxEntries,
    )) {
      bytes += row.body.length;
      if (entries.length > 0 && bytes > maxBytes) return { entries, exhausted: false };
      entries.push(row);
    }
    return { entries, exhausted: entries.length < maxEntries };
  }

  /** The events with these ids still waiting for history (what a replay of a recent key answers). */
  waitingEvents(ids: string[]): StoredEvent[] {
    return this.sql
      .exec<{ body: string }>(
        `SELECT e.value AS body FROM outbox o,
           json_each(CASE WHEN json_type(o.body) = 'array' THEN o.body ELSE json_array(json(o.body)) END) e
         WHERE o.kind = 'event' AND e.value ->> 'id' IN (SELECT value FROM json_each(?))`,
        JSON.stringify(ids),
      )
      .toArray()
      .map((row) => JSON.parse(row.body) as StoredEvent);
  }

  /** Moves on with every append by this instance; a flush compares it before and after its await. */
  generation(): number {
    return this.appends;
  }

  /** Events appended by this instance (metrics). */
  eventsAppended(): number {
    return this.events;
  }

  removeUpTo(seq: number): void {
    this.sql.exec("DELETE FROM outbox WHERE seq <= ?", seq);
  }

  size(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
  }
}
