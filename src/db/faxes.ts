import { and, asc, eq, gt, isNull, or, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { TERMINAL_FAX_STATUSES, type FaxEvent, type FaxProvider } from "../domain/fax";
import type { JsonValue } from "../domain/stored-event";
import { faxes, unattributedEvents, webhookReceipts } from "./schema";

const TERMINAL = TERMINAL_FAX_STATUSES.map((s) => `'${s}'`).join(", ");
/** The incoming event may set the status: the fax has none yet, or is not final and this is final or newer. */
const TAKES_STATUS = `(faxes.status IS NULL OR (faxes.status NOT IN (${TERMINAL}) AND (excluded.status IN (${TERMINAL}) OR excluded.status_at >= coalesce(faxes.status_at, 0))))`;

/**
 * Keeps the receipt (once per provider event) and moves the fax registry on, in one D1 batch.
 * Ordering is decided inside the upsert, so concurrent deliveries cannot undo a final state.
 * Returns whether the receipt is new.
 */
export async function recordFaxEvent(d1: D1Database, event: FaxEvent, nowMs: number): Promise<boolean> {
  const receipt = d1
    .prepare(
      `INSERT INTO webhook_receipts
         (provider, event_id, event_type, fax_id, direction, status, page_count, failure_reason, refusal_reason, occurred_at, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    )
    .bind(
      event.provider,
      event.eventId,
      event.eventType,
      event.faxId,
      event.direction,
      event.status,
      event.pageCount,
      event.failureReason,
      event.refusal,
      event.occurredAt,
      nowMs,
    );
  if (event.faxId === null) return (await receipt.run()).meta.changes > 0;
  const registry = d1
    .prepare(
      `INSERT INTO faxes (provider, fax_id, subject_id, direction, status, page_count, failure_reason, status_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (provider, fax_id) DO UPDATE SET
         subject_id = coalesce(faxes.subject_id, excluded.subject_id),
         direction = coalesce(faxes.direction, excluded.direction),
         page_count = coalesce(excluded.page_count, faxes.page_count),
         failure_reason = CASE WHEN ${TAKES_STATUS} THEN coalesce(excluded.failure_reason, faxes.failure_reason) ELSE faxes.failure_reason END,
         status = CASE WHEN ${TAKES_STATUS} THEN excluded.status ELSE faxes.status END,
         status_at = CASE WHEN ${TAKES_STATUS} THEN excluded.status_at ELSE faxes.status_at END,
         updated_at = excluded.updated_at`,
    )
    .bind(
      event.provider,
      event.faxId,
      event.subjectHint,
      event.direction,
      event.status,
      event.pageCount,
      event.failureReason,
      event.occurredAt,
      nowMs,
      nowMs,
    );
  const [stored] = await d1.batch([receipt, registry]);
  return (stored?.meta.changes ?? 0) > 0;
}

export type FaxRow = typeof faxes.$inferSelect;
export type FaxReceipt = typeof webhookReceipts.$inferSelect;

export async function findFax(db: DrizzleD1Database, provider: FaxProvider, faxId: string): Promise<FaxRow | null> {
  const [row] = await db
    .select()
    .from(faxes)
    .where(and(eq(faxes.provider, provider), eq(faxes.faxId, faxId)))
    .limit(1);
  return row ?? null;
}

/** Every verified event of a fax, in the order they were received. */
export async function listReceipts(db: DrizzleD1Database, provider: FaxProvider, faxId: string): Promise<FaxReceipt[]> {
  return db
    .select()
    .from(webhookReceipts)
    .where(and(eq(webhookReceipts.provider, provider), eq(webhookReceipts.faxId, faxId)))
    .orderBy(asc(webhookReceipts.receivedAt), asc(webhookReceipts.eventId));
}

/**
 * Names the fax's subject unless another one is named already, and keeps `reservationId` unless the
 * fax has a hold already (the first hold stands); answers the row as it stands.
 */
export async function registerFax(
  db: DrizzleD1Database,
  registration: { provider: FaxProvider; faxId: string; subjectId: string; reservationId: string | null },
  nowMs: number,
): Promise<FaxRow> {
  const { provider, faxId, subjectId } = registration;
  await db
    .insert(faxes)
    .values({ ...registration, createdAt: nowMs, updatedAt: nowMs })
    .onConflictDoUpdate({
      target: [faxes.provider, faxes.faxId],
      set: { subjectId, reservationId: sql`coalesce(${faxes.reservationId}, excluded.reservation_id)`, updatedAt: nowMs },
      setWhere: or(isNull(faxes.subjectId), eq(faxes.subjectId, subjectId)),
    });
  return (await findFax(db, provider, faxId))!;
}

export interface ParkedEvent {
  provider: FaxProvider;
  faxId: string;
  eventId: string;
  eventType: string;
  pageCount: number;
  occurredAt: number;
  metadata: Record<string, JsonValue>;
  parkedAt: number;
  billedAt: number | null;
  billedSubjectId: string | null;
}

export async function park(
  db: DrizzleD1Database,
  event: FaxEvent & { faxId: string; pageCount: number },
  metadata: Record<string, JsonValue>,
  nowMs: number,
) {
  await db
    .insert(unattributedEvents)
    .values({
      provider: event.provider,
      faxId: event.faxId,
      eventId: event.eventId,
      eventType: event.eventType,
      pageCount: event.pageCount,
      occurredAt: event.occurredAt,
      metadata: JSON.stringify(metadata),
      parkedAt: nowMs,
    })
    .onConflictDoNothing();
}

export async function findParked(db: DrizzleD1Database, provider: FaxProvider, faxId: string): Promise<ParkedEvent | null> {
  const [row] = await db
    .select()
    .from(unattributedEvents)
    .where(and(eq(unattributedEvents.provider, provider), eq(unattributedEvents.faxId, faxId)))
    .limit(1);
  return row ? toParked(row) : null;
}

/** Parked events still waiting for their fax to be registered, oldest first. */
export async function listUnattributed(db: DrizzleD1Database, limit: number, after?: { parkedAt: number; faxId: string }) {
  const rows = await db
    .select()
    .from(unattributedEvents)
    .where(
      and(
        isNull(unattributedEvents.billedAt),
        after
          ? or(
              gt(unattributedEvents.parkedAt, after.parkedAt),
              and(eq(unattributedEvents.parkedAt, after.parkedAt), gt(unattributedEvents.faxId, after.faxId)),
            )
          : undefined,
      ),
    )
    .orderBy(asc(unattributedEvents.parkedAt), asc(unattributedEvents.faxId))
    .limit(limit);
  return rows.map(toParked);
}

function toParked(row: typeof unattributedEvents.$inferSelect): ParkedEvent {
  return { ...row, provider: row.provider as FaxProvider, metadata: JSON.parse(row.metadata) as Record<string, JsonValue> };
}
