import { startReconciliationRun } from "../db/reconciliation-runs";
import type { TaskMessage } from "../domain/queue-messages";

/** Starts the daily reconciliation: its run row, then the first page of its subject scan. Answers the run id. */
export async function startReconciliation(env: Env, asOf: number): Promise<string> {
  const runId = `reconcile-${new Date(asOf).toISOString()}`;
  // Running the same schedule twice reuses its run row; the work itself is idempotent.
  await startReconciliationRun(env.DB, runId, Date.now());
  await env.USAGE_QUEUE.send({ task: "scan-subjects", job: "reconcile", after: "", asOf, runId } satisfies TaskMessage);
  return runId;
}
