import { historyWriterFor } from "../history/history-writer-client";
import { CHUNKS_PER_BATCH, MAX_CHUNK_BYTES, MAX_CHUNK_ENTRIES } from "../history/history-batch";
import type { Notification } from "../domain/notifications";
import { log } from "../http/log";
import { toPublicEvent, type StoredEvent } from "../domain/stored-event";
import type { LedgerNotification } from "./contract";
import type { Outbox } from "./outbox";

/** Events per usage.recorded notification, keeping a queue message well under 128 KB. */
const EVENTS_PER_NOTIFICATION = 100;

export interface FlushResult {
  flushed: number;
  remaining: number;
}

/**
 * Moves the oldest outbox entries (events, notifications, closed periods) into D1 through the
 * subject's history writer, then hands the notifications to the notifications queue. Rows leave
 * the outbox only after both; if the removal is lost, the next flush re-sends them: D1 ignores
 * the copies, and a notification keeps its id (the webhook-id receivers deduplicate on).
 */
export async function flushOutbox(
  outbox: Outbox,
  subjectId: string | null,
  env: Pick<Env, "HISTORY_WRITER" | "HISTORY_WRITERS" | "NOTIFY_QUEUE" | "METRICS_LOG">,
): Promise<FlushResult> {
  // Whole outbox rows (a row may hold a call's entries): the writer splits them into chunks.
  const { entries, exhausted } = outbox.peek(MAX_CHUNK_ENTRIES * CHUNKS_PER_BATCH, MAX_CHUNK_BYTES * CHUNKS_PER_BATCH);
  if (entries.length === 0) return { flushed: 0, remaining: 0 };
  const afterSeq = entries[entries.length - 1]!.seq;
  const generationBefore = outbox.generation();

  const written = await historyWriterFor(env, subjectId ?? "").write(entries.map(({ kind, body }) => ({ kind, body })));
  if (!written.ok) throw new Error(`history write failed: ${written.error}`);
  const { usageSubscribed } = written;

  const eventEntries = entries.filter((e) => e.kind === "event");
  const notifications: Notification[] = entries
    .filter((e) => e.kind === "notification")
    .map((e) => {
      const { meter: _meter, ...notification } = JSON.parse(e.body) as LedgerNotification;
      return notification;
    });
  if (usageSubscribed && eventEntries.length > 0) {
    notifications.push(...usageRecorded(eventEntries.map((e) => JSON.parse(e.body) as StoredEvent)));
  }
  for (let i = 0; i < notifications.length; i += 100) {
    await env.NOTIFY_QUEUE.sendBatch(notifications.slice(i, i + 100).map((notification) => ({ body: { kind: "notify", notification } })));
  }

  outbox.removeUpTo(afterSeq);
  if (env.METRICS_LOG === "true") log("info", "metrics.history_flush", { entries: entries.length, events: eventEntries.length });
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
