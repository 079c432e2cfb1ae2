import { database, type Database } from "../db/database";
import { findFaxBill } from "../db/fax-bills";
import { findFax, registerFax as nameFaxSubject, type FaxRow } from "../db/faxes";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { holdsPages, type FaxProvider } from "../domain/fax";
import type { Reservation } from "../ledger/contract";
import { recordAudit } from "./audit-trail";
import { billParked } from "./bill-fax";
import { holdFaxPages, readFaxHold, releaseFaxHold, type FaxHold } from "./fax-holds";

export interface FaxRegistration {
  provider: FaxProvider;
  faxId: string;
  subjectId: string;
  /** Pages to hold on meter `fax` until the fax is delivered or fails; null: no hold. */
  reservePages: number | null;
}

export interface RegisteredFax {
  fax: FaxRow;
  /** A delivery parked for the fax was billed now. */
  billed: boolean;
  /** The fax's hold as its subject's ledger has it now; null when it has none. */
  reservation: Reservation | null;
}

/**
 * Registers a fax's subject, holds its pages when asked (while its outcome is unknown, and only
 * the first hold: registering again changes nothing) and bills anything parked for it. A hold
 * that does not fit a hard limit is LIMIT_EXCEEDED, and nothing is registered.
 */
export async function registerFax(
  env: Env,
  audit: AuditContext,
  registration: FaxRegistration,
  nowMs = Date.now(),
): Promise<RegisteredFax> {
  const { provider, faxId, subjectId, reservePages } = registration;
  const db = database(env.DB);
  const known = await findFax(db, provider, faxId);
  if (known?.subjectId && known.subjectId !== subjectId) throw alreadyRegistered(faxId);
  const wantsHold = reservePages !== null && !known?.reservationId && holdsPages(known?.status ?? null);
  const held = wantsHold ? await holdFaxPages(env, subjectId, provider, faxId, reservePages) : null;
  const fax = await nameFaxSubject(db, { provider, faxId, subjectId, reservationId: held?.id ?? null }, nowMs);
  if (fax.subjectId !== subjectId) {
    // Another subject registered it meanwhile: this hold will never be committed.
    if (held) await releaseFaxHold(env, { subjectId, reservationId: held.id });
    throw alreadyRegistered(faxId);
  }
  // One entry per fax and subject: registering again changes nothing.
  await recordAudit(env, audit, {
    id: `aud_fax.register_${provider}_${faxId}`,
    action: "fax.register",
    target: { type: "fax", id: `${provider}:${faxId}` },
    before: known,
    after: fax,
  });
  const { outcome } = await billParked(env, db, fax, nowMs);
  if (fax.reservationId === null) return { fax, billed: outcome === "billed", reservation: null };
  const fresh = held?.id === fax.reservationId && outcome !== "billed" ? held : null;
  const reservation = await settleHold(env, db, fax, { subjectId, reservationId: fax.reservationId }, fresh);
  return { fax, billed: outcome === "billed", reservation };
}

/**
 * A delivery or failure handled while the hold was being registered may not have seen it (`fax`
 * was read after the hold was written): a fax whose bill was claimed without its hold, or that
 * failed, holds nothing. Answers the hold as it stands (`fresh`, when the caller has it).
 */
async function settleHold(env: Env, db: Database, fax: FaxRow, hold: FaxHold, fresh: Reservation | null): Promise<Reservation | null> {
  const bill = await findFaxBill(db, fax.provider, fax.faxId);
  if ((bill !== null && bill.reservationId !== hold.reservationId) || fax.status === "failed") return releaseFaxHold(env, hold);
  return fresh ?? readFaxHold(env, hold);
}

function alreadyRegistered(faxId: string): DomainError {
  return new DomainError("FAX_ALREADY_REGISTERED", `Fax '${faxId}' is already registered to another subject.`);
}
