import type { Grant, GrantQuery } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";

/** A subject's grants as its ledger keeps them now. */
export async function listGrants(env: Env, subjectId: string, query: GrantQuery): Promise<Grant[]> {
  return callLedger(() => ledgerFor(env, subjectId).grants(subjectId, query));
}
