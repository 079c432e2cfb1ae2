import { log } from "../http/log";
import { attemptsWithDeadLetterQueue } from "../domain/queue-messages";
import { keepDeadLetters } from "../services/keep-dead-letters";
import { USAGE_QUEUE_NAME } from "./usage-events.consumer";

export const USAGE_DLQ_NAME = "usage-events-dlq";

/** Messages that used up their retries: kept in D1 with the reason, to be listed and replayed. */
export async function consumeDeadLetterQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await keepDeadLetters(
    env,
    batch.messages.map((message) => ({
      queue: USAGE_QUEUE_NAME,
      messageId: message.id,
      reason: "RETRIES_EXHAUSTED",
      detail: "The message was retried until the queue gave up (ledger or D1 unavailable).",
      attempts: attemptsWithDeadLetterQueue(message.attempts),
      body: message.body,
    })),
  );
  batch.ackAll();
  log("warn", "queue.dead_letters_kept", { messages: batch.messages.length });
}
