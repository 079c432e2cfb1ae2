import { fromE4, toE4 } from "../domain/amount";
import { DomainError } from "../domain/errors";
import type { StoredEvent } from "../domain/stored-event";
import type { Reservation } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { notHeld, reservationNotFound } from "./reservation-errors";

export interface Committed {
  status: "committed" | "already_committed";
  reservation: Reservation;
  /** Null when 0 was committed: nothing happened, so nothing is recorded. */
  event: StoredEvent | null;
  /** The commit went past a hard limit: recorded anyway, the usage happened. */
  overage: boolean;
}

/**
 * Records what a hold turned into: the held amount when `amount` is left out; less releases the
 * rest; more is recorded too; 0 records nothing. Terminal: the same commit again answers the same event.
 */
export async function commitReservation(
  env: Env,
  subjectId: string,
  reservationId: string,
  amount: number | undefined,
): Promise<Committed> {
  const outcome = await callLedger(() =>
    ledgerFor(env, subjectId).commitReservation(subjectId, reservationId, {
      amountE4: amount === undefined ? null : toE4(amount),
      occurredAt: null,
      source: "reservation",
    }),
  );
  switch (outcome.status) {
    case "not_found":
      throw reservationNotFound(reservationId);
    case "not_held":
      throw notHeld(outcome.reservation, "committed");
    case "conflict":
      throw new DomainError("IDEMPOTENCY_CONFLICT", `Reservation '${reservationId}' was already committed with another amount.`, {
        committedAmount: outcome.reservation.committedAmountE4 === null ? null : fromE4(outcome.reservation.committedAmountE4),
      });
    default:
      return { status: outcome.status, reservation: outcome.reservation, event: outcome.event, overage: outcome.decision.overage };
  }
}
