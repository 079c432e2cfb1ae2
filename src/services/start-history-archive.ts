import type { TaskMessage } from "../domain/queue-messages";

/** Starts the daily archive of history older than the hot window: its first step, on the queue. */
export async function startHistoryArchive(env: Env, asOf: number): Promise<void> {
  await env.USAGE_QUEUE.send({ task: "archive-history", asOf, afterDay: 0 } satisfies TaskMessage);
}
