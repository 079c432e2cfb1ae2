import { insertDeadLetterStatement } from "../db/dead-letters";
import { log } from "../http/log";
import { attemptsWithDeadLetterQueue } from "./messages";
import { USAGE_QUEUE_NAME } from "./usage-events.consumer";

export const USAGE_DLQ_NAME = "usage-events-dlq";

/** Messages that used up their retries: kept in D1 with the reason, to be listed and replayed. */
export async function consumeDeadLetterQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const now = Date.now();
  await env.DB.batch(
    batch.messages.map((message) =>
      insertDeadLetterStatement(
        env.DB,
        {
          queue: USAGE_QUEUE_NAME,
          messageId: message.id,
          reason: "RETRIES_EXHAUSTED",
          detail: "The message was retried until the queue gave up (ledger or D1 unavailable).",
          attempts: attemptsWithDeadLetterQueue(message.attempts),
          body: message.body,
        },
        now,
      ),
    ),
  );
  batch.ackAll();
  log("warn", "queue.dead_letters_kept", { messages: batch.messages.length });
}
