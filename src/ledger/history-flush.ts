import { upsertPeriodsStatement } from "../db/periods";
import { insertEventsStatement, insertNotificationsStatement, touchSubjectsStatement } from "../db/usage-events";
import type { LedgerStore, OutboxKind } from "./ledger-store";

/** D1 statements per outbox kind and chunk; each takes the chunk's bodies as one JSON array. */
const WRITERS: Record<OutboxKind, (d1: D1Database, json: string) => D1PreparedStatement[]> = {
  event: (d1, json) => [insertEventsStatement(d1, json), touchSubjectsStatement(d1, json)],
  notification: (d1, json) => [insertNotificationsStatement(d1, json)],
  period: (d1, json) => [upsertPeriodsStatement(d1, json)],
};

/** D1 binds at most 2 MB per value; stay well below it. Events are ≤ ~10 KB each. */
const MAX_CHUNK_BYTES = 1_000_000;
const MAX_CHUNK_EVENTS = 1_000;
/** Statements per D1 batch (one round trip, one transaction). */
const CHUNKS_PER_BATCH = 4;

export interface FlushResult {
  flushed: number;
  remaining: number;
}

/**
 * Moves the oldest outbox entries (events, notifications, closed periods) into D1. Rows leave the outbox only after D1 has
 * committed them; if the removal is lost, the next flush re-sends them and D1 ignores the copies.
 */
export async function flushOutbox(store: LedgerStore, d1: D1Database): Promise<FlushResult> {
  const chunks = [];
  let budget = MAX_CHUNK_EVENTS * CHUNKS_PER_BATCH;
  let afterSeq = 0;
  while (chunks.length < CHUNKS_PER_BATCH && budget > 0) {
    const entries = store.peekOutbox(Math.min(MAX_CHUNK_EVENTS, budget), MAX_CHUNK_BYTES, afterSeq);
    if (entries.length === 0) break;
    chunks.push(entries);
    budget -= entries.length;
    afterSeq = entries[entries.length - 1]!.seq;
  }
  if (chunks.length === 0) return { flushed: 0, remaining: 0 };

  const statements = chunks.flatMap((entries) =>
    (Object.keys(WRITERS) as OutboxKind[]).flatMap((kind) => {
      const bodies = entries.filter((e) => e.kind === kind).map((e) => e.body);
      return bodies.length > 0 ? WRITERS[kind](d1, `[${bodies.join(",")}]`) : [];
    }),
  );
  await d1.batch(statements);
  store.removeFromOutbox(afterSeq);
  return { flushed: chunks.reduce((n, c) => n + c.length, 0), remaining: store.outboxSize() };
}
