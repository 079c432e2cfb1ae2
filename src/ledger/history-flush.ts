import { upsertPeriodsStatement } from "../db/periods";
import { insertEventsStatement, insertNotificationsStatement, touchSubjectsStatement, voidEventsStatement } from "../db/usage-events";
import { usageRecordedSubscribedStatement } from "../db/webhook-endpoints";
import type { Notification } from "../domain/notifications";
import { log } from "../http/log";
import { toPublicEvent, type StoredEvent } from "../domain/stored-event";
import type { LedgerNotification } from "./contract";
import type { Outbox, OutboxEntry, OutboxKind } from "./outbox";

/** D1 binds at most 2 MB per value; stay well below it. Events are ≤ ~10 KB each. */
const MAX_CHUNK_BYTES = 1_000_000;
const MAX_CHUNK_EVENTS = 1_000;
/** Chunks per D1 batch (one round trip, one transaction); more only when bytes split them finer. */
const CHUNKS_PER_BATCH = 4;
/** Events per usage.recorded notification, keeping a queue message well under 128 KB. */
const EVENTS_PER_NOTIFICATION = 100;

/** D1 statements per outbox kind and chunk; each takes the chunk's bodies as one JSON array. */
const WRITERS: Record<OutboxKind, (d1: D1Database, json: string) => D1PreparedStatement[]> = {
  event: (d1, json) => [insertEventsStatement(d1, json), touchSubjectsStatement(d1, json)],
  // After events: an amend's replacement and the void of its original may share a chunk.
  void: (d1, json) => [voidEventsStatement(d1, json)],
  notification: (d1, json) => [insertNotificationsStatement(d1, json)],
  period: (d1, json) => [upsertPeriodsStatement(d1, json)],
};

export interface FlushResult {
  flushed: number;
  remaining: number;
}

/**
 * Moves the oldest outbox entries (events, notifications, closed periods) into D1, then hands
 * the notifications to the notifications queue. Rows leave the outbox only after both; if the
 * removal is lost, the next flush re-sends them: D1 ignores the copies, and a notification keeps
 * its id (the webhook-id receivers deduplicate on).
 */
export async function flushOutbox(outbox: Outbox, env: Pick<Env, "DB" | "NOTIFY_QUEUE" | "METRICS_LOG">): Promise<FlushResult> {
  // Whole outbox rows (a row may hold a call's entries), then split into chunks across rows: the
  // chunks go in one D1 batch and the rows leave together.
  const { entries, exhausted } = outbox.peek(MAX_CHUNK_EVENTS * CHUNKS_PER_BATCH, MAX_CHUNK_BYTES * CHUNKS_PER_BATCH);
  if (entries.length === 0) return { flushed: 0, remaining: 0 };
  const chunks: OutboxEntry[][] = [[]];
  let bytes = 0;
  for (const entry of entries) {
    const chunk = chunks[chunks.length - 1]!;
    if (chunk.length > 0 && (chunk.length >= MAX_CHUNK_EVENTS || bytes + entry.body.length > MAX_CHUNK_BYTES)) {
      chunks.push([entry]);
      bytes = entry.body.length;
    } else {
      chunk.push(entry);
      bytes += entry.body.length;
    }
  }
  const afterSeq = entries[entries.length - 1]!.seq;
  const generationBefore = outbox.generation();

  const writes = chunks.flatMap((chunk) =>
    (Object.keys(WRITERS) as OutboxKind[]).flatMap((kind) => {
      const bodies = chunk.filter((e) => e.kind === kind).map((e) => e.body);
      return bodies.length > 0 ? WRITERS[kind](env.DB, `[${bodies.join(",")}]`) : [];
    }),
  );
  const eventEntries = entries.filter((e) => e.kind === "event");
  const subscribed = usageRecordedSubscribedStatement(env.DB);
  const results = await env.DB.batch([...writes, subscribed]);
  const wantsUsage = eventEntries.length > 0 && (results[results.length - 1]?.results.length ?? 0) > 0;

  const notifications: Notification[] = entries
    .filter((e) => e.kind === "notification")
    .map((e) => {
      const { meter: _meter, ...notification } = JSON.parse(e.body) as LedgerNotification;
      return notification;
    });
  if (wantsUsage) notifications.push(...usageRecorded(eventEntries.map((e) => JSON.parse(e.body) as StoredEvent)));
  for (let i = 0; i < notifications.length; i += 100) {
    await env.NOTIFY_QUEUE.sendBatch(notifications.slice(i, i + 100).map((notification) => ({ body: { kind: "notify", notification } })));
  }

  outbox.removeUpTo(afterSeq);
  if (env.METRICS_LOG === "true") {
    const d1RowsWritten = results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0);
    log("info", "metrics.history_flush", { entries: entries.length, events: eventEntries.length, d1RowsWritten });
  }
  // Counting the outbox is a scan: only when this flush left entries behind or more came meanwhile.
  const maybeMore = !exhausted || outbox.generation() !== generationBefore;
  return { flushed: entries.length, remaining: maybeMore ? outbox.size() : 0 };
}

/** usage.recorded, batched per flush: the flushed events in groups, each group's id taken from its first event. */
function usageRecorded(events: StoredEvent[]): Notification[] {
  const out: Notification[] = [];
  for (let i = 0; i < events.length; i += EVENTS_PER_NOTIFICATION) {
    const group = events.slice(i, i + EVENTS_PER_NOTIFICATION);
    out.push({
      id: `ntf_usage_${group[0]!.id.slice(4)}`,
      type: "usage.recorded",
      subjectId: group[0]!.subjectId,
      createdAt: Math.max(...group.map((e) => e.receivedAt)),
      payload: {
        events: group.map((e) => {
          const { id, meter, unit, amount, operation, timestamp, source, dimensions } = toPublicEvent(e);
          return { id, meter, unit, amount, operation, timestamp, source, dimensions };
        }),
      },
    });
  }
  return out;
}
