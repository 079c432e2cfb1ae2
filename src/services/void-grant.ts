import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import type { Grant } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { recordAudit } from "./audit-trail";
import { callLedger } from "./call-ledger";

/** Takes back what is left of a grant; what was drawn stays drawn. Voiding again answers the same grant. */
export async function voidGrant(
  env: Env,
  audit: AuditContext,
  subjectId: string,
  grantId: string,
): Promise<{ status: "voided" | "already_voided"; grant: Grant }> {
  const outcome = await callLedger(() => ledgerFor(env, subjectId).voidGrant(subjectId, grantId));
  if (outcome.status === "not_found") throw new DomainError("NOT_FOUND", `No grant '${grantId}' for this subject.`);
  await recordAudit(env, audit, {
    id: `aud_grant.void_${grantId}`,
    action: "grant.void",
    target: { type: "grant", id: grantId },
    before: null,
    after: outcome.grant,
  });
  return outcome;
}
