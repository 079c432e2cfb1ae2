import { database } from "../db/database";
import { findFaxBill, type FaxBill } from "../db/fax-bills";
import { findFax, listReceipts, type FaxReceipt, type FaxRow } from "../db/faxes";
import { DomainError } from "../domain/errors";
import type { FaxProvider } from "../domain/fax";
import type { Reservation } from "../ledger/contract";
import { readFaxHold } from "./fax-holds";

export interface FaxRecord {
  fax: FaxRow;
  /** Whom the fax is billed to; null while nothing billed it. */
  bill: FaxBill | null;
  /** The hold taken when the fax was registered, as its subject's ledger has it; null when none was. */
  reservation: Reservation | null;
  receipts: FaxReceipt[];
}

/** A fax as the registry holds it, with its bill, its hold and every verified event received for it. */
export async function getFax(env: Env, provider: FaxProvider, faxId: string): Promise<FaxRecord> {
  const db = database(env.DB);
  const [fax, bill, receipts] = await Promise.all([
    findFax(db, provider, faxId),
    findFaxBill(db, provider, faxId),
    listReceipts(db, provider, faxId),
  ]);
  if (!fax) throw new DomainError("NOT_FOUND", `No ${provider} fax '${faxId}' is known.`);
  const { subjectId, reservationId } = fax;
  const reservation = reservationId && subjectId ? await readFaxHold(env, { subjectId, reservationId }) : null;
  return { fax, bill, reservation, receipts };
}
