import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { MeterDefinition, MeterKind } from "../domain/event-rules";
import { meters, type MeterRow } from "./schema";

export interface Meter extends MeterDefinition {
  description: string | null;
  createdAt: number;
  updatedAt: number;
}

export async function listMeters(db: DrizzleD1Database): Promise<Meter[]> {
  const rows = await db.select().from(meters).orderBy(asc(meters.key));
  return rows.map(toMeter);
}

export async function findMeter(db: DrizzleD1Database, key: string): Promise<Meter | null> {
  const rows = await db.select().from(meters).where(eq(meters.key, key)).limit(1);
  return rows[0] ? toMeter(rows[0]) : null;
}

/** Inserts unless the key exists; true when this call created it. */
export async function insertMeter(db: DrizzleD1Database, meter: Meter): Promise<boolean> {
  const inserted = await db.insert(meters).values(meter).onConflictDoNothing().returning({ key: meters.key });
  return inserted.length === 1;
}

/**
 * Archives the meter at `archivedAt`, or unarchives it (null), unless it already is so: one
 * conditional statement, so concurrent calls change it once. Null when this call changed nothing.
 */
export async function setMeterArchivedAt(
  db: DrizzleD1Database,
  key: string,
  archivedAt: number | null,
  nowMs: number,
): Promise<Meter | null> {
  const [row] = await db
    .update(meters)
    .set({ archivedAt, updatedAt: nowMs })
    .where(and(eq(meters.key, key), archivedAt === null ? isNotNull(meters.archivedAt) : isNull(meters.archivedAt)))
    .returning();
  return row ? toMeter(row) : null;
}

export async function updateMeterDescription(db: DrizzleD1Database, key: string, description: string | null, nowMs: number): Promise<void> {
  await db.update(meters).set({ description, updatedAt: nowMs }).where(eq(meters.key, key));
}

function toMeter(row: MeterRow): Meter {
  return { ...row, kind: row.kind as MeterKind };
}

/**
 * Meter definitions change rarely and are read on every write, so each isolate keeps them for a
 * short while. A key it does not know makes it reload at once, so a new meter works immediately;
 * an archive or unarchive is seen at once by the isolate that made it, by others within the TTL.
 */
const CACHE_TTL_MS = 30_000;
const MISS_RELOAD_MS = 1_000;
let cache: { loadedAt: number; byKey: Map<string, Meter> } | null = null;

export async function meterCatalog(db: DrizzleD1Database, wanted: Iterable<string>, nowMs = Date.now()) {
  const age = cache === null ? Infinity : nowMs - cache.loadedAt;
  const missing = [...wanted].some((key) => !cache?.byKey.has(key));
  // Unknown keys reload at most once a second, so a stream of bad meters cannot hammer D1.
  if (age >= CACHE_TTL_MS || (missing && age >= MISS_RELOAD_MS)) {
    const all = await listMeters(db);
    cache = { loadedAt: nowMs, byKey: new Map(all.map((m) => [m.key, m])) };
  }
  return cache!.byKey;
}

export function forgetMeterCatalog(): void {
  cache = null;
}
