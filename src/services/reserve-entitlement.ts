import { toPublicBalance } from "../domain/credits";
import { DomainError } from "../domain/errors";
import { fingerprintOf } from "../domain/fingerprint";
import type { JsonValue } from "../domain/stored-event";
import type { EntitlementSnapshot, Reservation } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { prepareEvents } from "./prepare-events";

export interface ReserveRequest {
  subjectId: string;
  meter: string;
  amount: number;
  ttlSeconds: number;
  idempotencyKey: string | undefined;
  dimensions: Record<string, string>;
  metadata: Record<string, JsonValue>;
}

export interface Reserved {
  status: "created" | "duplicate";
  reservation: Reservation;
  /** The meter after the hold. */
  snapshot: EntitlementSnapshot;
}

/**
 * Holds `amount` against the meter's limit until it is committed, released or expires. Over a
 * hard limit: LIMIT_EXCEEDED and nothing held. A replay of the same key answers the same hold.
 */
export async function reserveEntitlement(env: Env, request: ReserveRequest): Promise<Reserved> {
  const { subjectId, meter, amount, ttlSeconds, idempotencyKey, dimensions, metadata } = request;
  // The meter is checked as consume checks it, so a hold names a meter and unit its commit can record.
  const [prepared] = await prepareEvents(
    env,
    [{ subjectId, meter, amount, idempotencyKey, dimensions, metadata }],
    "reservation",
    Date.now(),
  );
  if (!prepared!.ok) throw new DomainError(prepared!.rejection.error.code, prepared!.rejection.error.message);
  const { kind, unit, amountE4 } = prepared!.input;
  const fingerprint = fingerprintOf({ meter, amount, ttlSeconds, dimensions, metadata });
  const outcome = await callLedger(() =>
    ledgerFor(env, subjectId).reserve(subjectId, {
      meter,
      kind,
      unit,
      amountE4,
      ttlMs: ttlSeconds * 1000,
      idempotencyKey: idempotencyKey ?? null,
      fingerprint,
      dimensions,
      metadata,
    }),
  );
  if (outcome.status === "denied") {
    throw new DomainError("LIMIT_EXCEEDED", `Holding ${amount} of '${meter}' would pass the hard limit.`, {
      allowed: false,
      ...toPublicBalance(outcome.snapshot),
      overage: outcome.decision.overage,
    });
  }
  if (outcome.status === "conflict") {
    throw new DomainError("IDEMPOTENCY_CONFLICT", `idempotencyKey was already used for a different reserve (${outcome.reservation.id}).`);
  }
  return outcome;
}
