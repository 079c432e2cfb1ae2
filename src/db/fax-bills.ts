import { and, eq, isNull, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { FaxProvider } from "../domain/fax";
import { faxBills, faxes, unattributedEvents, webhookReceipts } from "./schema";

export type FaxBill = typeof faxBills.$inferSelect;

export async function findFaxBill(db: DrizzleD1Database, provider: FaxProvider, faxId: string): Promise<FaxBill | null> {
  const [row] = await db
    .select()
    .from(faxBills)
    .where(and(eq(faxBills.provider, provider), eq(faxBills.faxId, faxId)))
    .limit(1);
  return row ?? null;
}

/**
 * Claims the fax's bill for a subject unless some subject holds it already; answers the claim that
 * stands. The primary key decides between concurrent deliveries. The claim takes the fax's hold
 * from the registry in the same statement, when the hold is the claimant's: every delivery of the
 * fax then bills it the same way, and a hold registered after the claim is known to be unused.
 */
export async function claimFaxBill(
  db: DrizzleD1Database,
  claim: { provider: FaxProvider; faxId: string; subjectId: string; pages: number },
  nowMs: number,
): Promise<FaxBill> {
  const { provider, faxId, subjectId } = claim;
  const hold = sql`(SELECT ${faxes.reservationId} FROM ${faxes} WHERE ${faxes.provider} = ${provider} AND ${faxes.faxId} = ${faxId} AND ${faxes.subjectId} = ${subjectId})`;
  const [claimed] = await db
    .insert(faxBills)
    .values({ ...claim, reservationId: hold, claimedAt: nowMs })
    .onConflictDoNothing()
    .returning();
  return claimed ?? (await findFaxBill(db, provider, faxId))!;
}

/** Settles a delivery parked for the fax: its bill went to `subjectId`. */
function settleParked(db: DrizzleD1Database, bill: FaxBill, nowMs: number) {
  return db
    .update(unattributedEvents)
    .set({ billedAt: nowMs, billedSubjectId: bill.subjectId })
    .where(
      and(eq(unattributedEvents.provider, bill.provider), eq(unattributedEvents.faxId, bill.faxId), isNull(unattributedEvents.billedAt)),
    );
}

/** The claimant's ledger took the bill: the claim is confirmed, and nothing parked for the fax waits any more. */
export async function confirmFaxBill(db: DrizzleD1Database, bill: FaxBill, nowMs: number): Promise<void> {
  await db.batch([
    db
      .update(faxBills)
      .set({ billedAt: nowMs })
      .where(and(eq(faxBills.provider, bill.provider), eq(faxBills.faxId, bill.faxId), isNull(faxBills.billedAt))),
    settleParked(db, bill, nowMs),
  ]);
}

/**
 * A delivery attributed to `namedSubjectId` arrived for a fax another subject holds the bill of:
 * its receipt keeps the subject it named, and nothing parked for the fax waits any more.
 */
export async function recordAttributionConflict(
  db: DrizzleD1Database,
  bill: FaxBill,
  eventId: string,
  namedSubjectId: string,
  nowMs: number,
): Promise<void> {
  await db.batch([
    db
      .update(webhookReceipts)
      .set({ attributionConflict: namedSubjectId })
      .where(and(eq(webhookReceipts.provider, bill.provider), eq(webhookReceipts.eventId, eventId))),
    settleParked(db, bill, nowMs),
  ]);
}
