import { countQueuedSubjects } from "../db/reconciliation-runs";
import { subjectIdsPage } from "../db/subject-scan";
import type { TaskMessage } from "../domain/queue-messages";
import { log } from "../http/log";

const SCAN_PAGE = 500;
/** A subject is active for reconciliation when it had usage within the late-event window. */
const ACTIVE_WINDOW_MS = 35 * 24 * 60 * 60 * 1000;

/** One page of subjects → one task each, and the next page as another message: bounded work per invocation. */
export async function scanSubjects(env: Env, task: Extract<TaskMessage, { task: "scan-subjects" }>): Promise<void> {
  const activeSince = task.job === "reconcile" ? task.asOf - ACTIVE_WINDOW_MS : undefined;
  const ids = await subjectIdsPage(env.DB, task.after, SCAN_PAGE, activeSince);
  const messages = ids.map((subjectId) => ({
    body:
      task.job === "close-periods"
        ? { task: "close-periods", subjectId, asOf: task.asOf }
        : { task: "reconcile", subjectId, runId: task.runId },
  }));
  for (let i = 0; i < messages.length; i += 100) await env.USAGE_QUEUE.sendBatch(messages.slice(i, i + 100));
  if (task.job === "reconcile" && ids.length > 0) await countQueuedSubjects(env.DB, task.runId, ids.length);
  if (ids.length === SCAN_PAGE) await env.USAGE_QUEUE.send({ ...task, after: ids[ids.length - 1]! });
  log("info", "cron.scan_page", { job: task.job, runId: task.runId, subjects: ids.length, more: ids.length === SCAN_PAGE });
}
