import type { EntitlementSnapshot } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { meterKinds } from "./meter-kinds";

/** Every meter the subject uses or is entitled to, as its ledger counts it now. */
export async function listEntitlements(env: Env, subjectId: string): Promise<EntitlementSnapshot[]> {
  const kinds = await meterKinds(env);
  return callLedger(() => ledgerFor(env, subjectId).entitlements(subjectId, kinds));
}
