import type { PeriodRow } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { meterKinds } from "./meter-kinds";

/** Closes the subject's periods that ended by `asOf` into period_usage; closing again changes nothing. */
export async function closeSubjectPeriods(env: Env, subjectId: string, asOf: number): Promise<PeriodRow[]> {
  return ledgerFor(env, subjectId).closePeriods(subjectId, asOf, await meterKinds(env));
}
