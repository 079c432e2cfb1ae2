import type { LedgerRpc } from "./contract";

/** The one way to reach a subject's ledger. */
export function ledgerFor(env: Env, subjectId: string): LedgerRpc {
  return env.LEDGER.getByName(subjectId) as unknown as LedgerRpc;
}
