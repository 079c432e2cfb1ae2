import type { RecalculationSummary } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { meterKinds } from "./meter-kinds";

/** Rebuilds the subject's current-period counters and gauge levels from D1 history. Safe to repeat. */
export async function recalculateSubject(env: Env, subjectId: string): Promise<RecalculationSummary> {
  const kinds = await meterKinds(env);
  return callLedger(() => ledgerFor(env, subjectId).recalculate(subjectId, kinds));
}
