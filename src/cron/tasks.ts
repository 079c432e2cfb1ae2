import { drizzle } from "drizzle-orm/d1";
import { meterCatalog } from "../db/meters";
import { countCheckedSubject, countQueuedSubjects } from "../db/reconciliation-runs";
import { subjectIdsPage } from "../db/subject-scan";
import { log } from "../http/log";
import { ledgerFor } from "../ledger/record-usage";
import type { TaskMessage } from "../queue/messages";

const SCAN_PAGE = 500;
/** A subject is active for reconciliation when it had usage within the late-event window. */
const ACTIVE_WINDOW_MS = 35 * 24 * 60 * 60 * 1000;

export async function runTask(env: Env, task: TaskMessage): Promise<void> {
  switch (task.task) {
    case "scan-subjects":
      return scanSubjects(env, task);
    case "close-periods": {
      const closed = await ledgerFor(env, task.subjectId).closePeriods(task.subjectId, task.asOf, await meterKinds(env));
      log("info", "rollover.subject_closed", { subjectId: task.subjectId, periods: closed.length });
      return;
    }
    case "reconcile":
      return reconcileSubject(env, task.subjectId, task.runId);
  }
}

/** One page of subjects → one task each, and the next page as another message: bounded work per invocation. */
async function scanSubjects(env: Env, task: Extract<TaskMessage, { task: "scan-subjects" }>): Promise<void> {
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

/** Rebuilds the subject's open periods from history and counts what had drifted; also closes periods that ended. */
async function reconcileSubject(env: Env, subjectId: string, runId: string): Promise<void> {
  const kinds = await meterKinds(env);
  const ledger = ledgerFor(env, subjectId);
  const summary = await ledger.recalculate(subjectId, kinds);
  await ledger.closePeriods(subjectId, Date.now(), kinds);
  const drifted = summary.meters.filter((m) => m.beforeE4 !== m.afterE4);
  if (drifted.length > 0) log("warn", "reconcile.drift_repaired", { runId, subjectId, meters: drifted });
  await countCheckedSubject(env.DB, runId, drifted.length);
}

async function meterKinds(env: Env) {
  const meters = await meterCatalog(drizzle(env.DB), [], Date.now());
  return Object.fromEntries([...meters.values()].map((m) => [m.key, m.kind]));
}
