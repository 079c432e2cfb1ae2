import { log } from "../http/log";
import { startHistoryArchive } from "../services/start-history-archive";
import { startReconciliation } from "../services/start-reconciliation";
import { startRollover } from "../services/start-rollover";

export const MONTHLY_ROLLOVER = "0 0 1 * *";
export const DAILY_RECONCILIATION = "0 3 * * *";

/**
 * Cron entry: each job only enqueues the first page of its subject scan, so the cron invocation
 * itself does constant work whatever the number of subjects.
 */
export async function runScheduled(controller: Pick<ScheduledController, "cron" | "scheduledTime">, env: Env): Promise<void> {
  const asOf = controller.scheduledTime;
  if (controller.cron === MONTHLY_ROLLOVER) {
    const runId = await startRollover(env, asOf);
    log("info", "cron.rollover_started", { runId, closesPeriodsEndingBy: new Date(asOf).toISOString() });
  } else if (controller.cron === DAILY_RECONCILIATION) {
    const runId = await startReconciliation(env, asOf);
    log("info", "cron.reconciliation_started", { runId });
    // The same daily schedule moves history older than the hot window to the archive.
    if (await startHistoryArchive(env, asOf)) log("info", "cron.archive_started", { asOf: new Date(asOf).toISOString() });
  } else {
    log("warn", "cron.unknown_schedule", { cron: controller.cron });
  }
}
