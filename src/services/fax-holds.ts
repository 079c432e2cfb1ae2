import { DomainError } from "../domain/errors";
import { FAX_HOLD_TTL_MS, faxHoldKey, type FaxProvider } from "../domain/fax";
import { toPublicDecision } from "../domain/public-decision";
import type { CommitInput, Reservation } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { prepareEvents } from "./prepare-events";

/** A fax's hold on its subject's ledger. */
export interface FaxHold {
  subjectId: string;
  reservationId: string;
}

/**
 * Holds `pages` on meter `fax` until the fax's outcome is known. The key comes from the fax, so a
 * repeated registration answers the same hold, whatever pages it asks for. Over a hard limit:
 * LIMIT_EXCEEDED, nothing held.
 */
export async function holdFaxPages(env: Env, subjectId: string, provider: FaxProvider, faxId: string, pages: number): Promise<Reservation> {
  const idempotencyKey = faxHoldKey(provider, faxId);
  const draft = { subjectId, meter: "fax", amount: pages, idempotencyKey, dimensions: {}, metadata: { provider, faxId } };
  const [prepared] = await prepareEvents(env, [draft], "reservation", Date.now());
  if (!prepared!.ok) throw new DomainError(prepared!.rejection.error.code, prepared!.rejection.error.message);
  const { kind, unit, amountE4, fingerprint, dimensions, metadata } = prepared!.input;
  const outcome = await callLedger(() =>
    ledgerFor(env, subjectId).reserve(subjectId, {
      meter: "fax",
      kind,
      unit,
      amountE4,
      ttlMs: FAX_HOLD_TTL_MS,
      idempotencyKey,
      fingerprint,
      dimensions,
      metadata,
    }),
  );
  if (outcome.status === "denied") {
    throw new DomainError("LIMIT_EXCEEDED", `Holding ${pages} fax pages would pass the hard limit.`, toPublicDecision(outcome.decision));
  }
  // "conflict": a registration with other pages took the hold first, and that hold stands.
  return outcome.reservation;
}

/** Frees the hold; one already committed, released or expired stays as it is. */
export async function releaseFaxHold(env: Env, hold: FaxHold): Promise<Reservation | null> {
  const outcome = await callLedger(() => ledgerFor(env, hold.subjectId).releaseReservation(hold.subjectId, hold.reservationId));
  return outcome.status === "not_found" ? null : outcome.reservation;
}

/**
 * Commits the hold with what the provider delivered. Null when it is no longer held (released or
 * expired) or gone: the caller records the pages plainly, since they went out all the same.
 */
export async function commitFaxHold(env: Env, hold: FaxHold, commit: CommitInput): Promise<"billed" | "already_billed" | null> {
  const outcome = await callLedger(() => ledgerFor(env, hold.subjectId).commitReservation(hold.subjectId, hold.reservationId, commit));
  if (outcome.status === "committed") return "billed";
  // "conflict": committed before with other pages; the fax's first bill stands.
  if (outcome.status === "already_committed" || outcome.status === "conflict") return "already_billed";
  return null;
}

export async function readFaxHold(env: Env, hold: FaxHold): Promise<Reservation | null> {
  return callLedger(() => ledgerFor(env, hold.subjectId).reservation(hold.subjectId, hold.reservationId));
}
