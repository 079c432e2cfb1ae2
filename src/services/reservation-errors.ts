import { DomainError } from "../domain/errors";
import type { Reservation } from "../ledger/contract";

export function reservationNotFound(reservationId: string): DomainError {
  return new DomainError("NOT_FOUND", `No reservation '${reservationId}' for this subject.`);
}

/** A hold that was already resolved otherwise (released, expired or committed) cannot be resolved again. */
export function notHeld(reservation: Reservation, wanted: "committed" | "released"): DomainError {
  return new DomainError(
    "RESERVATION_NOT_HELD",
    `Reservation '${reservation.id}' is ${reservation.status}; it can no longer be ${wanted}.`,
    {
      status: reservation.status,
    },
  );
}
