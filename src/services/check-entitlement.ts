import type { Decision } from "../domain/entitlements";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { meterKind } from "./meter-kinds";

/** Whether `amount` more would be allowed now; consumes nothing. */
export async function checkEntitlement(env: Env, subjectId: string, meter: string, amount: number): Promise<Decision> {
  const kind = await meterKind(env, meter);
  const amountE4 = Math.round(amount * 10_000);
  const snapshot = await callLedger(() => ledgerFor(env, subjectId).check(subjectId, meter, kind, amountE4));
  return snapshot.decision;
}
