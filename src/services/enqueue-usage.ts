import type { EventDraft } from "../domain/usage-event";

/** Queue messages: ≤ 100 per sendBatch and ≤ 256 KB in all; stay below with a margin. */
const MAX_MESSAGES_PER_SEND = 100;
const MAX_BYTES_PER_SEND = 200_000;

/**
 * Sends events through the usage-events queue. An event without an idempotency key gets one now,
 * so that queue redeliveries count it once. Answers how many were enqueued.
 */
export async function enqueueUsage(env: Env, drafts: EventDraft[]): Promise<number> {
  const messages = drafts.map((draft) => ({
    body: toCanonicalMessage({ ...draft, idempotencyKey: draft.idempotencyKey ?? `async:${crypto.randomUUID()}` }),
  }));
  let chunk: typeof messages = [];
  let bytes = 0;
  for (const message of messages) {
    const size = JSON.stringify(message.body).length;
    if (chunk.length === MAX_MESSAGES_PER_SEND || bytes + size > MAX_BYTES_PER_SEND) {
      await env.USAGE_QUEUE.sendBatch(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) await env.USAGE_QUEUE.sendBatch(chunk);
  return messages.length;
}

/** The canonical event a draft stands for, as a queue message. */
function toCanonicalMessage(draft: EventDraft) {
  return {
    idempotencyKey: draft.idempotencyKey,
    subjectId: draft.subjectId,
    meter: draft.meter,
    amount: draft.amount,
    ...(draft.unit === undefined ? {} : { unit: draft.unit }),
    ...(draft.timestamp === undefined ? {} : { timestamp: new Date(draft.timestamp).toISOString() }),
    dimensions: draft.dimensions,
    metadata: draft.metadata,
  };
}
