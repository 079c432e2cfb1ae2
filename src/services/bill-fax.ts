import type { Database } from "../db/database";
import { claimFaxBill, confirmFaxBill, recordAttributionConflict, type FaxBill } from "../db/fax-bills";
import { findParked, type FaxRow } from "../db/faxes";
import { toE4 } from "../domain/amount";
import { DomainError } from "../domain/errors";
import { MAX_EVENT_AGE_MS, MAX_FUTURE_SKEW_MS } from "../domain/event-rules";
import { faxIdempotencyKey, type FaxProvider, type FaxRefusal } from "../domain/fax";
import type { JsonValue } from "../domain/stored-event";
import { commitFaxHold, releaseFaxHold } from "./fax-holds";
import { recordUsage } from "./record-usage";

export type FaxOutcome = "billed" | "already_billed" | "parked" | "recorded" | "refused";

/** What became of a delivery; `reason` says why a fax was refused, or not billed to the subject it was attributed to. */
export interface FaxResult {
  outcome: FaxOutcome;
  reason?: FaxRefusal | "ATTRIBUTION_CONFLICT";
}

/** A delivery that bills a fax. */
export interface FaxBilling {
  provider: FaxProvider;
  faxId: string;
  eventId: string;
  pages: number;
  occurredAt: number;
  metadata: Record<string, JsonValue>;
}

/** Bills the event parked for a registered fax, once. */
export async function billParked(env: Env, db: Database, fax: FaxRow, nowMs: number): Promise<FaxResult> {
  const parked = await findParked(db, fax.provider, fax.faxId);
  if (!parked || parked.billedAt !== null || !fax.subjectId) return { outcome: "recorded" };
  return billFax(env, db, fax.subjectId, { ...parked, pages: parked.pageCount }, fax, nowMs);
}

/**
 * Bills a fax's pages to the subject once, globally: the first subject to claim the fax is billed
 * (its ledger's key `<provider>:<faxId>` keeps that exactly once), any other is kept on the
 * receipt as an attribution conflict and billed nothing. A claim that took the fax's hold commits
 * it with the pages delivered. Throws when the bill cannot be written; the claim stays, so the
 * provider's retry bills the same subject the same way. `registered` is the registry's row as the
 * caller read it.
 */
export async function billFax(
  env: Env,
  db: Database,
  subjectId: string,
  billing: FaxBilling,
  registered: FaxRow | null,
  nowMs: number,
): Promise<FaxResult> {
  const claim = await claimFaxBill(db, { provider: billing.provider, faxId: billing.faxId, subjectId, pages: billing.pages }, nowMs);
  if (claim.subjectId !== subjectId) {
    await recordAttributionConflict(db, claim, billing.eventId, subjectId, nowMs);
    await releaseUnusedHold(env, registered, claim);
    return { outcome: "already_billed", reason: "ATTRIBUTION_CONFLICT" };
  }
  // The claimed pages stand: a retry after a failed call bills what was claimed.
  const outcome = await billInLedger(env, subjectId, { ...billing, pages: claim.pages }, claim.reservationId, nowMs);
  await confirmFaxBill(db, claim, nowMs);
  await releaseUnusedHold(env, registered, claim);
  return { outcome };
}

/** A hold the fax's bill does not go through (another subject is billed, or the bill came first) reserves nothing any more. */
async function releaseUnusedHold(env: Env, fax: FaxRow | null, claim: FaxBill): Promise<void> {
  if (!fax?.reservationId || !fax.subjectId || fax.reservationId === claim.reservationId) return;
  await releaseFaxHold(env, { subjectId: fax.subjectId, reservationId: fax.reservationId });
}

async function billInLedger(
  env: Env,
  subjectId: string,
  billing: FaxBilling,
  reservationId: string | null,
  nowMs: number,
): Promise<"billed" | "already_billed"> {
  const { provider, faxId, pages, occurredAt, metadata } = billing;
  // A fax parked for weeks is billed now; its own time stays in the metadata.
  const inWindow = occurredAt <= nowMs + MAX_FUTURE_SKEW_MS && occurredAt >= nowMs - MAX_EVENT_AGE_MS + 60 * 60 * 1000;
  const timestamp = inWindow ? occurredAt : nowMs;
  const idempotencyKey = faxIdempotencyKey(provider, faxId);
  const source = `webhook:${provider}`;
  if (reservationId !== null) {
    const hold = { subjectId, reservationId };
    const committed = await commitFaxHold(env, hold, { amountE4: toE4(pages), occurredAt: timestamp, source, idempotencyKey, metadata });
    // Released (the fax failed first) or expired, the hold reserves nothing; the pages went out all the same.
    if (committed !== null) return committed;
  }
  const [recorded] = await recordUsage(
    env,
    [{ idempotencyKey, subjectId, meter: "fax", amount: pages, timestamp, dimensions: {}, metadata }],
    source,
    nowMs,
  );
  const result = recorded!;
  if (result.status !== "rejected") return result.status === "created" ? "billed" : "already_billed";
  // The same fax key with another body (another event id announcing the same delivery): the first bill stands.
  if (result.error.code === "IDEMPOTENCY_CONFLICT") return "already_billed";
  throw new DomainError(result.error.code, result.error.message);
}
