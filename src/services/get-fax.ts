import { database } from "../db/database";
import { findFaxBill, type FaxBill } from "../db/fax-bills";
import { findFax, listReceipts, type FaxReceipt, type FaxRow } from "../db/faxes";
import { DomainError } from "../domain/errors";
import type { FaxProvider } from "../domain/fax";

export interface FaxRecord {
  fax: FaxRow;
  /** Whom the fax is billed to; null while nothing billed it. */
  bill: FaxBill | null;
  receipts: FaxReceipt[];
}

/** A fax as the registry holds it, with its bill and every verified event received for it. */
export async function getFax(env: Env, provider: FaxProvider, faxId: string): Promise<FaxRecord> {
  const db = database(env.DB);
  const [fax, bill, receipts] = await Promise.all([
    findFax(db, provider, faxId),
    findFaxBill(db, provider, faxId),
    listReceipts(db, provider, faxId),
  ]);
  if (!fax) throw new DomainError("NOT_FOUND", `No ${provider} fax '${faxId}' is known.`);
  return { fax, bill, receipts };
}
