import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";

let seq = 0;
export interface TestMessage {
  id?: string;
  body: unknown;
  attempts?: number;
}

/** Runs one batch through the worker's queue handler and answers what it acked and retried. */
export async function deliver(queue: string, messages: TestMessage[]) {
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({
      id: m.id ?? `msg-${++seq}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: m.attempts ?? 1,
      body: m.body,
    })),
  );
  // The runtime's result does not report delays, so note what each retry asked for on the way through.
  const delays: Record<string, number | undefined> = {};
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      delays[message.id] = options?.delaySeconds;
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return { batch, delays, result: await getQueueResult(batch, ctx) };
}

export async function deadLetters(): Promise<{ message_id: string; reason: string; detail: string; body: string }[]> {
  const { results } = await env.DB.prepare("SELECT message_id, reason, detail, body FROM dead_letters ORDER BY created_at").all<{
    message_id: string;
    reason: string;
    detail: string;
    body: string;
  }>();
  return results;
}
