/** Opens a daily reconciliation run; running the same schedule twice reuses its row. */
export async function startReconciliationRun(d1: D1Database, runId: string, nowMs: number): Promise<void> {
  await d1.prepare("INSERT INTO reconciliation_runs (run_id, started_at) VALUES (?, ?) ON CONFLICT DO NOTHING").bind(runId, nowMs).run();
}

export async function countQueuedSubjects(d1: D1Database, runId: string, subjects: number): Promise<void> {
  await d1.prepare("UPDATE reconciliation_runs SET subjects_queued = subjects_queued + ? WHERE run_id = ?").bind(subjects, runId).run();
}

/** One subject checked; `repairedCounters` > 0 means it had drifted. */
export async function countCheckedSubject(d1: D1Database, runId: string, repairedCounters: number): Promise<void> {
  await d1
    .prepare(
      `UPDATE reconciliation_runs SET subjects_checked = subjects_checked + 1, subjects_drifted = subjects_drifted + ?,
       counters_repaired = counters_repaired + ? WHERE run_id = ?`,
    )
    .bind(repairedCounters > 0 ? 1 : 0, repairedCounters, runId)
    .run();
}
