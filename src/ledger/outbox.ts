import type { StoredEvent } from "../domain/stored-event";
import type { HistoryEntryKind } from "../history/history-batch";

/** What one row may hold: a history chunk's limits (history/history-batch.ts), so a row never spans two. */
const MAX_ROW_ENTRIES = 1_000;
const MAX_ROW_BYTES = 900_000;

export type OutboxKind = HistoryEntryKind;

export interface OutboxEntry {
  seq: number;
  kind: OutboxKind;
  body: string;
}

/**
 * What the ledger still owes D1 and the notifications queue, in order. Entries are written in the
 * same transaction as the counters that produced them and leave only after a flush landed them.
 *
 * One sequence numbers both the outbox rows and the events the ledger creates (`StoredEvent.seq`,
 * the subject's order of events, which history keeps as `subject_seq`). An event's number is drawn
 * before the row that carries it, and rows are inserted with their number, so the table's
 * AUTOINCREMENT high-water mark (sqlite_sequence, written with every insert anyway and kept when
 * rows leave) is never below a number any stored event holds: a new instance resumes above it
 * without a row written for the sequence. Numbers drawn in a transaction that rolled back are
 * skipped by this instance (gaps, never a number twice); no stored event holds them.
 */
export class Outbox {
  private appends = 0;
  private events = 0;
  /** The last number drawn; read from storage on first use. */
  private lastSeq: number | null = null;

  constructor(private readonly sql: SqlStorage) {}

  /** The next number of the ledger's sequence (an event's `seq`, or an outbox row's). */
  nextSeq(): number {
    return this.reserveSeqs(1);
  }

  /** Draws `n` consecutive numbers; answers the first. */
  private reserveSeqs(n: number): number {
    this.lastSeq ??= this.sql
      .exec<{ n: number }>(
        `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0), coalesce((SELECT max(seq) FROM outbox), 0)) AS n`,
      )
      .one().n;
    const first = this.lastSeq + 1;
    this.lastSeq += n;
    return first;
  }

  append(kind: OutboxKind, body: string): void {
    this.sql.exec("INSERT INTO outbox (seq, kind, body) VALUES (?, ?, ?)", this.nextSeq(), kind, body);
    this.appends += 1;
    if (kind === "event") this.events += 1;
  }

  /**
   * Appends `path` of each element of the JSON array `json`, in array order, leaving out the
   * elements at the indexes in `except`: `count` entries in one row (a JSON array of them), from a
   * string already made. A call too large for one row (a flush chunk's limits) gets a row per entry.
   */
  appendEach(kind: OutboxKind, json: string, path: string, except: number[], count: number): void {
    if (count === 0) return;
    const oneRow = count <= MAX_ROW_ENTRIES && json.length <= MAX_ROW_BYTES;
    this.sql.exec(
      oneRow
        ? `INSERT INTO outbox (seq, kind, body, entries)
           SELECT ?5, ?1, json_group_array(json(body)), count(*) FROM (
             SELECT value -> ?3 AS body FROM json_each(?2) WHERE key NOT IN (SELECT value FROM json_each(?4)) ORDER BY key)`
        : `INSERT INTO outbox (seq, kind, body) SELECT ?5 + row_number() OVER (ORDER BY key) - 1, ?1, value -> ?3 FROM json_each(?2)
           WHERE key NOT IN (SELECT value FROM json_each(?4)) ORDER BY key`,
      kind,
      json,
      path,
      JSON.stringify(except),
      this.reserveSeqs(oneRow ? 1 : count),
    );
    this.appends += 1;
    if (kind === "event") this.events += count;
  }

  /**
   * Oldest entries after `afterSeq`, whole rows only, stopping before `maxEntries` or `maxBytes`
   * (D1 binds at most 2 MB per value); `exhausted` when no rows are left after them.
   */
  peek(maxEntries: number, maxBytes: number, afterSeq = 0): { entries: OutboxEntry[]; exhausted: boolean } {
    const entries: OutboxEntry[] = [];
    let bytes = 0;
    let row: OutboxEntry[] = [];
    let rowBytes = 0;
    const fits = () => entries.length === 0 || (entries.length + row.length <= maxEntries && bytes + rowBytes <= maxBytes);
    // A row per entry, or one per element of a row's array; at most maxEntries rows can be needed.
    for (const entry of this.sql.exec<{ seq: number; kind: OutboxKind; body: string }>(
      `SELECT o.seq, o.kind, coalesce(e.value, o.body) AS body
       FROM (SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?) o
       LEFT JOIN json_each(CASE WHEN o.entries IS NOT NULL THEN o.body END) e
       ORDER BY o.seq, e.key`,
      afterSeq,
      maxEntries,
    )) {
      if (row.length > 0 && row[0]!.seq !== entry.seq) {
        if (!fits()) return { entries, exhausted: false };
        entries.push(...row);
        bytes += rowBytes;
        row = [];
        rowBytes = 0;
      }
      row.push(entry);
      rowBytes += entry.body.length;
    }
    if (row.length === 0) return { entries, exhausted: true };
    if (!fits()) return { entries, exhausted: false };
    entries.push(...row);
    // Rows past the LIMIT may remain: only a short read proves there are none.
    const rows = new Set(entries.map((e) => e.seq)).size;
    return { entries, exhausted: rows < maxEntries && entries.length < maxEntries };
  }

  /** The events with these ids still waiting for history (what a replay of a recent key answers). */
  waitingEvents(ids: string[]): StoredEvent[] {
    return this.sql
      .exec<{ body: string }>(
        `SELECT e.value AS body FROM outbox o,
           json_each(CASE WHEN o.entries IS NOT NULL THEN o.body ELSE json_array(json(o.body)) END) e
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
    return this.sql.exec<{ n: number }>("SELECT coalesce(sum(coalesce(entries, 1)), 0) AS n FROM outbox").one().n;
  }
}
