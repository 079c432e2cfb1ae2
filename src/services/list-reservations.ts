import type { Reservation, ReservationQuery } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";

/** A subject's holds, newest first, as its ledger keeps them now. */
export async function listReservations(env: Env, subjectId: string, query: ReservationQuery): Promise<Reservation[]> {
  return callLedger(() => ledgerFor(env, subjectId).reservations(subjectId, query));
}
