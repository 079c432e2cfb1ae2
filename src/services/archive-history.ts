import type { TaskMessage } from "../domain/queue-messages";
import { historyArchiver } from "../history/history-archiver";

/**
 * One step of the daily archive: the oldest day of history older than the hot window is moved to
 * R2 (or its move carried on), then the next step goes back on the queue, so each invocation
 * handles one day whatever the backlog. A day that fails verification is left in D1 (and logged)
 * and the run moves on; the next daily run tries it again.
 */
export async function archiveHistory(env: Env, task: Extract<TaskMessage, { task: "archive-history" }>): Promise<void> {
  const step = await historyArchiver(env).archiveNext(task.asOf, env.HISTORY_HOT_DAYS, task.afterDay);
  if (step.next !== null)
    await env.USAGE_QUEUE.send({ task: "archive-history", asOf: task.asOf, afterDay: step.next } satisfies TaskMessage);
}
