import { database } from "../db/database";
import { registerFax as nameFaxSubject, type FaxRow } from "../db/faxes";
import { DomainError } from "../domain/errors";
import type { FaxProvider } from "../domain/fax";
import { billParked } from "./bill-fax";

/** Registers a fax's subject and bills anything parked for it. Registering again changes nothing. */
export async function registerFax(
  env: Env,
  provider: FaxProvider,
  faxId: string,
  subjectId: string,
  nowMs = Date.now(),
): Promise<{ fax: FaxRow; billed: boolean }> {
  const db = database(env.DB);
  const fax = await nameFaxSubject(db, provider, faxId, subjectId, nowMs);
  if (fax.subjectId !== subjectId) {
    throw new DomainError("FAX_ALREADY_REGISTERED", `Fax '${faxId}' is already registered to another subject.`);
  }
  const { outcome } = await billParked(env, db, fax, nowMs);
  return { fax, billed: outcome === "billed" };
}
