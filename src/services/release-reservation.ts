import type { Reservation } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { notHeld, reservationNotFound } from "./reservation-errors";

/** Frees a hold without recording anything. Terminal: releasing again answers the same reservation. */
export async function releaseReservation(
  env: Env,
  subjectId: string,
  reservationId: string,
): Promise<{ status: "released" | "already_released"; reservation: Reservation }> {
  const outcome = await callLedger(() => ledgerFor(env, subjectId).releaseReservation(subjectId, reservationId));
  if (outcome.status === "not_found") throw reservationNotFound(reservationId);
  if (outcome.status === "not_held") throw notHeld(outcome.reservation, "released");
  return outcome;
}
