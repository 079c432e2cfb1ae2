import { startReconciliationRun } from "../db/reconciliation-runs";
import { log } from "../http/log";

export const MONTHLY_ROLLOVER = "0 0 1 * *";
export const DAILY_RECONCILIATION = "0 3 * * *";

/**
 * Cron entry: each job only enqueues the first page of its subject scan, so the cron invocation
 * itself does constant work whatever the number of subjects.
 */
export async function runScheduled(controller: Pick<ScheduledController, "cron" | "scheduledTime">, env: Env): Promise<void> {
  const asOf = controller.scheduledTime;
  if (controller.cron === MONTHLY_ROLLOVER) {
    const runId = `rollover-${new Date(asOf).toISOString()}`;
    await env.USAGE_QUEUE.send({ task: "scan-subjects", job: "close-periods", after: "", asOf, runId });
    log("info", "cron.rollover_started", { runId, closesPeriodsEndingBy: new Date(asOf).toISOString() });
  } else if (controller.cron === DAILY_RECONCILIATION) {
    const runId = `reconcile-${new Date(asOf).toISOString()}`;
    // Running the same schedule twice reuses its run row; the work itself is idempotent.
    await startReconciliationRun(env.DB, runId, Date.now());
    await env.USAGE_QUEUE.send({ task: "scan-subjects", job: "reconcile", after: "", asOf, runId });
    log("info", "cron.reconciliation_started", { runId });
  } else {
    log("warn", "cron.unknown_schedule", { cron: controller.cron });
  }
}
