import { countCheckedSubject } from "../db/reconciliation-runs";
import { log } from "../http/log";
import { ledgerFor } from "../ledger/ledger-client";
import { meterKinds } from "./meter-kinds";

/** Rebuilds the subject's open periods from history and counts what had drifted; also closes periods that ended. */
export async function reconcileSubject(env: Env, subjectId: string, runId: string): Promise<void> {
  const kinds = await meterKinds(env);
  const ledger = ledgerFor(env, subjectId);
  const summary = await ledger.recalculate(subjectId, kinds);
  await ledger.closePeriods(subjectId, Date.now(), kinds);
  const drifted = summary.meters.filter((m) => m.beforeE4 !== m.afterE4);
  if (drifted.length > 0) log("warn", "reconcile.drift_repaired", { runId, subjectId, meters: drifted });
  await countCheckedSubject(env.DB, runId, drifted.length);
}
