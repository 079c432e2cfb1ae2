import { toE4 } from "../domain/amount";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { fingerprintOf } from "../domain/fingerprint";
import type { JsonValue } from "../domain/stored-event";
import type { Grant } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { recordAudit } from "./audit-trail";
import { callLedger } from "./call-ledger";
import { meterDefinition } from "./meter-kinds";

export interface GrantRequest {
  subjectId: string;
  meter: string;
  amount: number;
  priority: number;
  /** Epoch ms; now when left out. */
  effectiveAt: number | undefined;
  expiresAt: number | null;
  idempotencyKey: string | undefined;
  metadata: Record<string, JsonValue>;
}

/** Gives prepaid credit on a counter, drawn after the period allowance. A replay of the same key answers the same grant. */
export async function createGrant(
  env: Env,
  audit: AuditContext,
  request: GrantRequest,
  nowMs = Date.now(),
): Promise<{ status: "created" | "duplicate"; grant: Grant }> {
  const { subjectId, meter, amount, priority, effectiveAt, expiresAt, idempotencyKey, metadata } = request;
  const definition = await meterDefinition(env, meter);
  if (definition.kind !== "counter") {
    throw new DomainError("NOT_A_COUNTER", `Meter '${meter}' is a gauge; grants add to counters only.`);
  }
  if (definition.archivedAt !== null) {
    throw new DomainError("METER_ARCHIVED", `Meter '${meter}' is archived: it takes no new credit until it is unarchived.`, {
      meters: [meter],
    });
  }
  // A left-out effectiveAt is the server's "now", not part of what the caller said.
  const fingerprint = fingerprintOf({ meter, amount, priority, effectiveAt, expiresAt, metadata });
  const outcome = await callLedger(() =>
    ledgerFor(env, subjectId).grant(subjectId, {
      meter,
      amountE4: toE4(amount),
      priority,
      effectiveAt: effectiveAt ?? nowMs,
      expiresAt,
      idempotencyKey: idempotencyKey ?? null,
      fingerprint,
      metadata,
    }),
  );
  if (outcome.status === "conflict") {
    throw new DomainError("IDEMPOTENCY_CONFLICT", `idempotencyKey was already used for a different grant (${outcome.grant.id}).`);
  }
  // Logged on a replay too, under the grant's own id: the first answer may have been lost before its entry was written.
  await recordAudit(env, audit, {
    id: `aud_grant.create_${outcome.grant.id}`,
    action: "grant.create",
    target: { type: "grant", id: outcome.grant.id },
    before: null,
    after: outcome.grant,
  });
  return { status: outcome.status, grant: outcome.grant };
}
