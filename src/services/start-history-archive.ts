import type { TaskMessage } from "../domain/queue-messages";
import { historyBackend } from "../history/history-store";

/**
 * Starts the daily archive of history older than the hot window: its first step, on the queue. Only
 * D1 history is archived: PostgreSQL's old months are partitions to detach and drop. Returns whether
 * it started.
 */
export async function startHistoryArchive(env: Env, asOf: number): Promise<boolean> {
  if (historyBackend(env.HISTORY_BACKEND) !== "d1") return false;
  await env.USAGE_QUEUE.send({ task: "archive-history", asOf, afterDay: 0 } satisfies TaskMessage);
  return true;
}
