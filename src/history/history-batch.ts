import { upsertPeriodsStatement } from "../db/periods";
import { insertEventsStatement, insertNotificationsStatement, touchSubjectsStatement, voidEventsStatement } from "../db/usage-events";
import { usageRecordedSubscribedStatement } from "../db/webhook-endpoints";

/** What a ledger owes history: events, voids, notifications and closed periods, as JSON bodies. */
export type HistoryEntryKind = "event" | "void" | "notification" | "period";

export interface HistoryEntry {
  kind: HistoryEntryKind;
  body: string;
}

/** D1 binds at most 2 MB per value; stay well below it. Events are ≤ ~10 KB each. */
export const MAX_CHUNK_BYTES = 1_000_000;
export const MAX_CHUNK_ENTRIES = 1_000;
/** Chunks per D1 batch (one round trip, one transaction); more only when bytes split them finer. */
export const CHUNKS_PER_BATCH = 4;

type Statements = Record<HistoryEntryKind, (d1: D1Database, json: string) => D1PreparedStatement[]>;

/** D1 statements per kind and chunk; each takes the chunk's bodies as one JSON array. */
const STATEMENTS: Statements = {
  event: (d1, json) => [insertEventsStatement(d1, json), touchSubjectsStatement(d1, json)],
  // After events: an amend's replacement and the void of its original may share a chunk.
  void: (d1, json) => [voidEventsStatement(d1, json)],
  notification: (d1, json) => [insertNotificationsStatement(d1, json)],
  period: (d1, json) => [upsertPeriodsStatement(d1, json)],
};

/** What stays in D1 when another store keeps the events: who has usage, notifications, closed periods. */
const CONTROL_STATEMENTS: Statements = {
  ...STATEMENTS,
  event: (d1, json) => [touchSubjectsStatement(d1, json)],
  void: () => [],
};
const KINDS = Object.keys(STATEMENTS) as HistoryEntryKind[];

export interface HistoryBatchResult {
  /** Whether any webhook endpoint wants usage.recorded (read in the same transaction). */
  usageSubscribed: boolean;
  events: number;
  /** D1's meta.rows_written summed over the batch. */
  d1RowsWritten: number;
}

/**
 * Writes entries to D1 in one batch (one transaction): in order, in chunks of at most
 * MAX_CHUNK_ENTRIES or MAX_CHUNK_BYTES, each chunk's events before its voids. Every statement
 * ignores what D1 already holds, so writing the same entries again changes nothing.
 */
export function writeHistoryBatch(d1: D1Database, entries: HistoryEntry[]): Promise<HistoryBatchResult> {
  return writeBatch(d1, entries, STATEMENTS);
}

/** writeHistoryBatch less the events and voids, which another store has written. */
export function writeControlBatch(d1: D1Database, entries: HistoryEntry[]): Promise<HistoryBatchResult> {
  return writeBatch(d1, entries, CONTROL_STATEMENTS);
}

async function writeBatch(d1: D1Database, entries: HistoryEntry[], statements: Statements): Promise<HistoryBatchResult> {
  const writes = chunk(entries).flatMap((part) =>
    KINDS.flatMap((kind) => {
      const bodies = part.filter((e) => e.kind === kind).map((e) => e.body);
      return bodies.length > 0 ? statements[kind](d1, `[${bodies.join(",")}]`) : [];
    }),
  );
  const events = entries.filter((e) => e.kind === "event").length;
  const results = await d1.batch([...writes, usageRecordedSubscribedStatement(d1)]);
  return {
    usageSubscribed: (results[results.length - 1]?.results.length ?? 0) > 0,
    events,
    d1RowsWritten: results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0),
  };
}

function chunk(entries: HistoryEntry[]): HistoryEntry[][] {
  const chunks: HistoryEntry[][] = [[]];
  let bytes = 0;
  for (const entry of entries) {
    const last = chunks[chunks.length - 1]!;
    if (last.length > 0 && (last.length >= MAX_CHUNK_ENTRIES || bytes + entry.body.length > MAX_CHUNK_BYTES)) {
      chunks.push([entry]);
      bytes = entry.body.length;
    } else {
      last.push(entry);
      bytes += entry.body.length;
    }
  }
  return chunks;
}
