import { and, asc, eq, gt, gte, lt, or, sql } from "drizzle-orm";
import type { ArchivePart, ArchiveState, DayChecksum } from "../domain/history-archive";
import type { StoredEvent } from "../domain/stored-event";
import { DAY_MS } from "../domain/summary-plan";
import { database } from "./database";
import { usageEvents } from "./schema";
import { rowToStoredEvent } from "./usage-events";

/**
 * The archive's SQL: its manifest (history_archive_days) and what the archive job reads and
 * deletes in usage_events. Only counter meters' events are archived: gauge moves stay in D1, as
 * recalculation replays every one of them in order.
 */

/** Days whose archive object serves reads: verified (raw rows may still be being deleted) or deleted. */
const SERVING = "('verified', 'deleted')";
const COUNTERS = "(SELECT key FROM meters WHERE kind = 'counter')";

export interface ArchiveDayRow {
  day: number;
  /** The attempt's key prefix. */
  objectKey: string;
  state: ArchiveState;
  events: number;
  bytes: number;
  checksum: DayChecksum;
  parts: ArchivePart[];
}

export async function archiveDay(d1: D1Database, day: number): Promise<ArchiveDayRow | null> {
  const row = await d1
    .prepare("SELECT day, object_key AS objectKey, state, events, bytes, checksum, parts FROM history_archive_days WHERE day = ?")
    .bind(day)
    .first<Omit<ArchiveDayRow, "checksum" | "parts"> & { checksum: string; parts: string }>();
  return row ? { ...row, checksum: JSON.parse(row.checksum) as DayChecksum, parts: JSON.parse(row.parts) as ArchivePart[] } : null;
}

/**
 * The time of the oldest counter event in [fromMs, toMs), or null: one probe of the meter index
 * per counter meter, so it costs the same however much gauge history the range keeps.
 */
export async function oldestCounterEvent(d1: D1Database, fromMs: number, toMs: number): Promise<number | null> {
  const row = await d1
    .prepare(
      `SELECT min((SELECT min(occurred_at) FROM usage_events e WHERE e.meter = m.key AND e.occurred_at >= ?1 AND e.occurred_at < ?2)) AS first
       FROM meters m WHERE m.kind = 'counter'`,
    )
    .bind(fromMs, toMs)
    .first<{ first: number | null }>();
  return row?.first ?? null;
}

/** When the newest of a UTC day's counter events was received, or null when it has none. */
export async function newestCounterReceipt(d1: D1Database, day: number): Promise<number | null> {
  const row = await d1
    .prepare(`SELECT max(received_at) AS newest FROM usage_events WHERE occurred_at >= ?1 AND occurred_at < ?2 AND +meter IN ${COUNTERS}`)
    .bind(day * DAY_MS, (day + 1) * DAY_MS)
    .first<{ newest: number | null }>();
  return row?.newest ?? null;
}

/** A page of a UTC day's counter events, oldest first, after the cursor row. */
export async function dayCounterEvents(
  d1: D1Database,
  day: number,
  limit: number,
  after?: { occurredAt: number; id: string },
): Promise<StoredEvent[]> {
  const conditions = [
    gte(usageEvents.occurredAt, day * DAY_MS),
    lt(usageEvents.occurredAt, (day + 1) * DAY_MS),
    sql`+${usageEvents.meter} IN ${sql.raw(COUNTERS)}`,
  ];
  if (after) {
    conditions.push(
      or(gt(usageEvents.occurredAt, after.occurredAt), and(eq(usageEvents.occurredAt, after.occurredAt), gt(usageEvents.id, after.id)))!,
    );
  }
  const rows = await database(d1)
    .select()
    .from(usageEvents)
    .where(and(...conditions))
    .orderBy(asc(usageEvents.occurredAt), asc(usageEvents.id))
    .limit(limit);
  return rows.map(rowToStoredEvent);
}

const NET = "CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END";

/** What a day's raw counter rows add up to, per meter (every row, the standing ones, their net amount). */
export async function rawDayChecksum(d1: D1Database, day: number): Promise<DayChecksum> {
  const { results } = await d1
    .prepare(
      `SELECT meter, count(*) AS events, count(*) FILTER (WHERE voided_at IS NULL) AS standing,
              coalesce(sum(${NET}) FILTER (WHERE voided_at IS NULL), 0) AS netE4
       FROM usage_events WHERE occurred_at >= ?1 AND occurred_at < ?2 AND +meter IN ${COUNTERS} GROUP BY meter`,
    )
    .bind(day * DAY_MS, (day + 1) * DAY_MS)
    .all<{ meter: string; events: number; standing: number; netE4: number }>();
  return Object.fromEntries(results.map((r) => [r.meter, { events: r.events, standing: r.standing, netE4: r.netE4 }]));
}

/** What the quarter-hour rollups hold for a day's counter meters: standing events and their net amount. */
export async function rollupDayChecksum(d1: D1Database, day: number): Promise<DayChecksum> {
  const { results } = await d1
    .prepare(
      `SELECT meter, sum(events) AS standing, sum(total_e4) AS netE4 FROM usage_rollup_slots
       WHERE slot >= ?1 AND slot < ?2 AND meter IN ${COUNTERS} GROUP BY meter HAVING sum(events) > 0`,
    )
    .bind(day * 96, (day + 1) * 96)
    .all<{ meter: string; standing: number; netE4: number }>();
  return Object.fromEntries(results.map((r) => [r.meter, { events: r.standing, standing: r.standing, netE4: r.netE4 }]));
}

/**
 * Starts (or starts again) a day's archive under a new object key: raw rows stay the truth. Answers
 * the key of the attempt it replaces (null when none), or false when the day's object already
 * serves reads (it is never sent back to writing).
 */
export async function markWriting(d1: D1Database, day: number, objectKey: string, now: number): Promise<string | null | false> {
  const [before, written] = await d1.batch<{ objectKey: string; state: ArchiveState }>([
    d1.prepare("SELECT object_key AS objectKey, state FROM history_archive_days WHERE day = ?").bind(day),
    d1
      .prepare(
        `INSERT INTO history_archive_days (day, object_key, state, events, bytes, checksum, started_at) VALUES (?1, ?2, 'writing', 0, 0, '{}', ?3)
         ON CONFLICT (day) DO UPDATE SET object_key = ?2, events = 0, bytes = 0, checksum = '{}', parts = '[]', started_at = ?3, verified_at = NULL,
           last_error = NULL
         WHERE state = 'writing'`,
      )
      .bind(day, objectKey, now),
  ]);
  if (written!.meta.changes === 0) return false;
  return before!.results[0]?.objectKey ?? null;
}

/** The object matched: from now on it serves the day. Only from writing. */
export async function markVerified(
  d1: D1Database,
  day: number,
  objectKey: string,
  events: number,
  bytes: number,
  checksum: DayChecksum,
  parts: ArchivePart[],
  now: number,
): Promise<boolean> {
  const result = await d1
    .prepare(
      `UPDATE history_archive_days SET state = 'verified', events = ?3, bytes = ?4, checksum = ?5, parts = ?6, verified_at = ?7, last_error = NULL
       WHERE day = ?1 AND object_key = ?2 AND state = 'writing'`,
    )
    .bind(day, objectKey, events, bytes, JSON.stringify(checksum), JSON.stringify(parts), now)
    .run();
  return result.meta.changes === 1;
}

export async function markDeleted(d1: D1Database, day: number, now: number): Promise<void> {
  await d1
    .prepare("UPDATE history_archive_days SET state = 'deleted', deleted_at = ?2 WHERE day = ?1 AND state = 'verified'")
    .bind(day, now)
    .run();
}

export async function recordArchiveError(d1: D1Database, day: number, error: string): Promise<void> {
  await d1.prepare("UPDATE history_archive_days SET last_error = ?2 WHERE day = ?1").bind(day, error.slice(0, 2000)).run();
}

/**
 * Deletes up to `statements` × `rows` of a day's raw counter events, a bounded statement at a time
 * (no delete trigger exists, so the rollups keep them). Answers how many went and whether any remain.
 */
export async function deleteDayCounterEvents(
  d1: D1Database,
  day: number,
  rows: number,
  statements: number,
): Promise<{ deleted: number; more: boolean }> {
  const statement = d1
    .prepare(
      `DELETE FROM usage_events WHERE rowid IN (
         SELECT rowid FROM usage_events WHERE occurred_at >= ?1 AND occurred_at < ?2 AND +meter IN ${COUNTERS} LIMIT ?3)`,
    )
    .bind(day * DAY_MS, (day + 1) * DAY_MS, rows);
  let deleted = 0;
  for (let i = 0; i < statements; i += 1) {
    const result = await statement.run();
    deleted += result.meta.changes;
    if (result.meta.changes < rows) return { deleted, more: false };
  }
  return { deleted, more: true };
}

/** The days in [fromDay, toDay) whose archive serves reads, in the listing's order, with their parts. */
export async function servingDays(
  d1: D1Database,
  fromDay: number,
  toDay: number,
  order: "newest" | "oldest",
  only: { subjectId?: string; meter?: string; standingOnly: boolean },
): Promise<{ day: number; parts: ArchivePart[] }[]> {
  const conditions = [
    `a.state IN ${SERVING}`,
    "a.day >= ?1",
    "a.day < ?2",
    `(?3 IS NULL OR json_extract(a.checksum, '$."' || ?3 || '"') IS NOT NULL)`,
    // The subject-day rollups say which days a subject has standing events on (voided ones they leave out).
    `(?4 IS NULL OR NOT ?5 OR EXISTS (SELECT 1 FROM usage_rollup_subject_days r
       WHERE r.day = a.day AND r.meter IN (SELECT key FROM meters) AND r.subject_id = ?4 AND (?3 IS NULL OR r.meter = ?3)))`,
  ];
  const { results } = await d1
    .prepare(
      `SELECT a.day AS day, a.parts AS parts FROM history_archive_days a WHERE ${conditions.join(" AND ")}
       ORDER BY a.day ${order === "newest" ? "DESC" : "ASC"}`,
    )
    .bind(fromDay, toDay, only.meter ?? null, only.subjectId ?? null, only.standingOnly ? 1 : 0)
    .all<{ day: number; parts: string }>();
  return results.map((r) => ({ day: r.day, parts: JSON.parse(r.parts) as ArchivePart[] }));
}
