import type { HistoryCursor, HistoryFilter } from "../../domain/history-queries";
import { asLedgerSent, type GrantDraw, type JsonValue, type StoredEvent } from "../../domain/stored-event";
import { type PgQuery, parameters } from "./query";

/**
 * History's events in PostgreSQL (migrations/postgres). PostgreSQL text cannot hold U+0000, which
 * units, keys, metadata and dimension values may contain, and its JSON functions refuse the
 * escape for it anywhere in a value they read. So each event's JSON is kept whole as text that only
 * the worker parses; beside it are the columns queries filter and order on (ids, subjects and meters
 * are validated free of control characters), and the dimensions with their values escaped.
 */

/** One event as the columns of usage_events. */
export interface PgEventRow {
  id: string;
  subjectId: string;
  meter: string;
  amountE4: number;
  operation: string;
  occurredAt: number;
  receivedAt: number;
  seq: number | null;
  /** The dimensions with escaped values, as JSON. */
  dimensions: string;
  /** The event as its ledger sent it. */
  event: string;
}

export function eventRow(body: string): PgEventRow {
  const e = JSON.parse(body) as StoredEvent;
  const dimensions = Object.fromEntries(Object.entries(e.dimensions).map(([name, value]) => [name, escapeText(value)]));
  return {
    id: e.id,
    subjectId: e.subjectId,
    meter: e.meter,
    amountE4: e.amountE4,
    operation: e.operation,
    occurredAt: e.occurredAt,
    receivedAt: e.receivedAt,
    seq: e.seq ?? null,
    dimensions: JSON.stringify(dimensions),
    event: body,
  };
}

/** An injective escape that leaves no U+0000: "\\" for a backslash, "\\0" for U+0000. */
export function escapeText(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\u0000", "\\0");
}

export function unescapeText(text: string): string {
  return text.replace(/\\(\\|0)/g, (_, c: string) => (c === "0" ? "\u0000" : "\\"));
}

/** Makes sure each month the events fall in (and only those) has its partition before they are written. */
export async function ensureEventPartitions(query: PgQuery, rows: PgEventRow[]): Promise<void> {
  const months = new Set(rows.map((r) => monthStart(r.occurredAt)));
  await query("SELECT tally_ensure_month_partitions(month, month) FROM unnest($1::bigint[]) AS month", [[...months]]);
}

function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The WHERE conditions of a filter; dimension values are compared escaped (see the note above). */
export function eventConditions(filter: HistoryFilter, bind: (value: unknown) => string): string[] {
  const conditions: string[] = [];
  if (filter.includeVoided !== true) conditions.push("voided_at IS NULL");
  if (filter.subjectId !== undefined) conditions.push(`subject_id = ${bind(filter.subjectId)}`);
  if (filter.meter !== undefined) conditions.push(`meter = ${bind(filter.meter)}`);
  if (filter.from !== undefined) conditions.push(`occurred_at >= ${bind(filter.from)}::bigint`);
  if (filter.to !== undefined) conditions.push(`occurred_at < ${bind(filter.to)}::bigint`);
  for (const [name, value] of Object.entries(filter.dimensions ?? {})) {
    conditions.push(`dimensions ->> ${bind(name)}::text = ${bind(escapeText(value))}`);
  }
  return conditions;
}

interface EventRow {
  event: string;
  subject_seq: string | null;
  voided_at: string | null;
  void_reason: string | null;
}

const EVENT_COLUMNS = "event, subject_seq, voided_at, void_reason";

export async function listEvents(
  query: PgQuery,
  filter: HistoryFilter,
  limit: number,
  after?: HistoryCursor,
  order: "newest" | "oldest" = "newest",
): Promise<StoredEvent[]> {
  const { values, bind } = parameters();
  const conditions = eventConditions(filter, bind);
  if (after) conditions.push(cursorCondition(after, order, bind));
  const direction = order === "newest" ? "DESC" : "ASC";
  const rows = await query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM usage_events ${conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : ""}
     ORDER BY occurred_at ${direction}, id ${direction} LIMIT ${bind(limit)}::bigint`,
    values,
  );
  return rows.map(rowToStoredEvent);
}

/**
 * Rows strictly beyond the cursor. A cursor id with U+0000 (forged: stored ids have none) cannot be
 * bound; against ids without it, "before id" is "up to its prefix" and "after id" is "after its prefix".
 */
function cursorCondition(after: HistoryCursor, order: "newest" | "oldest", bind: (value: unknown) => string): string {
  const nul = after.id.indexOf("\u0000");
  const id = nul === -1 ? after.id : after.id.slice(0, nul);
  const operator = order === "oldest" ? ">" : nul === -1 ? "<" : "<=";
  return `(occurred_at, id) ${operator} (${bind(after.occurredAt)}::bigint, ${bind(id)}::text)`;
}

export async function findEvent(query: PgQuery, id: string): Promise<StoredEvent | null> {
  if (id.includes("\u0000")) return null;
  const rows = await query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM usage_events WHERE id = $1 LIMIT 1`, [id]);
  return rows[0] ? rowToStoredEvent(rows[0]) : null;
}

/** The events with these ids as their ledger sent them: the void marks history adds left out. */
export async function findLedgerEvents(query: PgQuery, ids: string[]): Promise<StoredEvent[]> {
  const rows = await query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM usage_events WHERE id = ANY($1::text[])`, [
    ids.filter((id) => !id.includes("\u0000")),
  ]);
  return rows.map((row) => asLedgerSent(rowToStoredEvent(row)));
}

/** The same shape D1's history answers (src/db/usage-events.ts), field for field. */
function rowToStoredEvent(row: EventRow): StoredEvent {
  const e = JSON.parse(row.event) as Record<string, unknown>;
  return {
    id: e.id as string,
    ...(row.subject_seq === null ? {} : { seq: Number(row.subject_seq) }),
    subjectId: e.subjectId as string,
    meter: e.meter as string,
    unit: e.unit as string,
    amountE4: e.amountE4 as number,
    operation: e.operation as StoredEvent["operation"],
    occurredAt: e.occurredAt as number,
    receivedAt: e.receivedAt as number,
    source: e.source as StoredEvent["source"],
    idempotencyKey: (e.idempotencyKey ?? null) as string | null,
    dimensions: e.dimensions as Record<string, string>,
    metadata: e.metadata as Record<string, JsonValue>,
    voidedAt: row.voided_at === null ? null : Number(row.voided_at),
    voidReason: row.void_reason === null ? null : (JSON.parse(row.void_reason) as string | null),
    ...(Object.hasOwn(e, "grantDraws") ? { grantDraws: e.grantDraws as GrantDraw[] } : {}),
  };
}
