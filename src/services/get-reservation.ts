import type { Reservation } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { reservationNotFound } from "./reservation-errors";

export async function getReservation(env: Env, subjectId: string, reservationId: string): Promise<Reservation> {
  const reservation = await callLedger(() => ledgerFor(env, subjectId).reservation(subjectId, reservationId));
  if (!reservation) throw reservationNotFound(reservationId);
  return reservation;
}
