import { and, asc, desc, eq, gt, gte, isNull, lt, lte, or, sql, type SQL } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { asLedgerSent, type GrantDraw, type JsonValue, type StoredEvent } from "../domain/stored-event";
import type { HistoryCursor, HistoryFilter } from "../domain/history-queries";
import { usageEvents, type UsageEventRow } from "./schema";

export type { HistoryCursor, HistoryFilter };

/**
 * Writes ledger events to history in one statement: the events travel as one JSON parameter
 * (D1 allows 100 bound parameters but 2 MB per value). `ON CONFLICT DO NOTHING` on the id makes
 * a repeated flush harmless, which is what turns the ledger's at-least-once delivery into
 * exactly-once history.
 */
export function insertEventsStatement(d1: D1Database, eventsJson: string): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO usage_events
         (id, subject_id, meter, unit, amount_e4, operation, occurred_at, received_at, source, idempotency_key, dimensions, metadata,
          grant_draws, subject_seq)
       SELECT value ->> 'id', value ->> 'subjectId', value ->> 'meter', value ->> 'unit', value ->> 'amountE4',
              value ->> 'operation', value ->> 'occurredAt', value ->> 'receivedAt', value ->> 'source', value ->> 'idempotencyKey',
              json(value -> 'dimensions'), json(value -> 'metadata'), json(value -> 'grantDraws'), value ->> 'seq'
       FROM json_each(?1) WHERE true
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(eventsJson);
}

/**
 * Marks voided events in history, once: an event already voided keeps its first void. The rollup
 * trigger on voided_at takes them out of the summaries (migrations/0007_usage_voids.sql).
 */
export function voidEventsStatement(d1: D1Database, voidsJson: string): D1PreparedStatement {
  return d1
    .prepare(
      `UPDATE usage_events SET voided_at = v.value ->> 'voidedAt', void_reason = v.value ->> 'reason'
       FROM json_each(?1) AS v WHERE usage_events.id = v.value ->> 'id' AND usage_events.voided_at IS NULL`,
    )
    .bind(voidsJson);
}

/** Remembers which subjects have usage, and since when, for the cron jobs that walk them. */
export function touchSubjectsStatement(d1: D1Database, eventsJson: string): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO subject_activity (subject_id, last_event_at)
       SELECT value ->> 'subjectId', max(value ->> 'receivedAt') FROM json_each(?1) WHERE true GROUP BY 1
       ON CONFLICT (subject_id) DO UPDATE SET last_event_at = max(last_event_at, excluded.last_event_at)`,
    )
    .bind(eventsJson);
}

/** The notification counterpart of insertEventsStatement. */
export function insertNotificationsStatement(d1: D1Database, notificationsJson: string): D1PreparedStatement {
  return d1
    .prepare(
      `INSERT INTO notifications (id, subject_id, type, meter, payload, created_at)
       SELECT value ->> 'id', value ->> 'subjectId', value ->> 'type', value ->> 'meter', json(value -> 'payload'), value ->> 'createdAt'
       FROM json_each(?1) WHERE true
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(notificationsJson);
}

/**
 * Dimensions with their own (virtual) column; any other name is filtered through json_extract. A Map,
 * as names come from callers: a plain object would answer `constructor` with Object itself.
 */
const INDEXED_DIMENSIONS = new Map<string, SQL>([
  ["schoolId", sql`${usageEvents.dimSchoolId}`],
  ["pantryId", sql`${usageEvents.dimPantryId}`],
  ["itemType", sql`${usageEvents.dimItemType}`],
]);

export function historyConditions(filter: HistoryFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.includeVoided !== true) conditions.push(isNull(usageEvents.voidedAt));
  if (filter.subjectId !== undefined) conditions.push(eq(usageEvents.subjectId, filter.subjectId));
  // With a subject, `+meter` keeps SQLite on the subject index (a subject's events of one meter),
  // not the meter index (every subject's events of that meter).
  if (filter.meter !== undefined) {
    conditions.push(filter.subjectId !== undefined ? sql`+${usageEvents.meter} = ${filter.meter}` : eq(usageEvents.meter, filter.meter));
  }
  if (filter.from !== undefined) conditions.push(gte(usageEvents.occurredAt, filter.from));
  if (filter.to !== undefined) conditions.push(lt(usageEvents.occurredAt, filter.to));
  for (const [name, value] of Object.entries(filter.dimensions ?? {})) conditions.push(sql`${dimensionColumn(name)} = ${value}`);
  return conditions;
}

/** A dimension's value per event: its own column when it has one. Names are checked by the caller. */
export function dimensionColumn(name: string): SQL {
  return INDEXED_DIMENSIONS.get(name) ?? sql`json_extract(${usageEvents.dimensions}, ${`$."${name}"`})`;
}

/** A page of history after the cursor row: newest first for reading, oldest first for export. */
export async function listHistory(
  db: DrizzleD1Database,
  filter: HistoryFilter,
  limit: number,
  after?: HistoryCursor,
  order: "newest" | "oldest" = "newest",
): Promise<StoredEvent[]> {
  const beyond = order === "newest" ? lt : gt;
  const upTo = order === "newest" ? lte : gte;
  const direction = order === "newest" ? desc : asc;
  const conditions = historyConditions(filter);
  if (after) {
    // The plain bound lets SQLite walk one index range in order; the OR alone, next to a `from`,
    // it splits into two index lookups and sorts everything between them.
    conditions.push(upTo(usageEvents.occurredAt, after.occurredAt));
    conditions.push(
      or(
        beyond(usageEvents.occurredAt, after.occurredAt),
        and(eq(usageEvents.occurredAt, after.occurredAt), beyond(usageEvents.id, after.id)),
      )!,
    );
  }
  const rows = await db
    .select()
    .from(usageEvents)
    .where(and(...conditions))
    .orderBy(direction(usageEvents.occurredAt), direction(usageEvents.id))
    .limit(limit);
  return rows.map(rowToStoredEvent);
}

export async function findEvent(db: DrizzleD1Database, id: string): Promise<StoredEvent | null> {
  const rows = await db.select().from(usageEvents).where(eq(usageEvents.id, id)).limit(1);
  return rows[0] ? rowToStoredEvent(rows[0]) : null;
}

/**
 * The events with these ids, in one query (what the ledger sent: the void marks history adds are
 * left out). Ids travel as one JSON value, not one parameter each.
 */
export async function findLedgerEvents(db: DrizzleD1Database, ids: string[]): Promise<StoredEvent[]> {
  const rows = await db
    .select()
    .from(usageEvents)
    .where(sql`${usageEvents.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`);
  return rows.map((row) => asLedgerSent(rowToStoredEvent(row)));
}

export function rowToStoredEvent(row: UsageEventRow): StoredEvent {
  return {
    id: row.id,
    ...(row.subjectSeq === null ? {} : { seq: row.subjectSeq }),
    subjectId: row.subjectId,
    meter: row.meter,
    unit: row.unit,
    amountE4: row.amountE4,
    operation: row.operation,
    occurredAt: row.occurredAt,
    receivedAt: row.receivedAt,
    source: row.source,
    idempotencyKey: row.idempotencyKey,
    dimensions: JSON.parse(row.dimensions) as Record<string, string>,
    metadata: JSON.parse(row.metadata) as Record<string, JsonValue>,
    voidedAt: row.voidedAt,
    voidReason: row.voidReason,
    ...(row.grantDraws === null ? {} : { grantDraws: JSON.parse(row.grantDraws) as GrantDraw[] }),
  };
}
