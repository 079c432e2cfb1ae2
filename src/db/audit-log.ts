import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { AuditActor } from "../domain/audit";
import { auditLog } from "./schema";

export interface AuditEntry {
  seq: number;
  id: string;
  at: number;
  actor: AuditActor;
  action: string;
  target: { type: string; id: string };
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AuditQuery {
  action?: string;
  actorType?: AuditActor["type"];
  actorId?: string;
  targetType?: string;
  targetId?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  beforeSeq: number | null;
  limit: number;
}

/** Writes one entry; an entry whose id is already there is left as it was (a retried write). */
export async function insertAuditEntry(db: DrizzleD1Database, entry: Omit<AuditEntry, "seq">): Promise<void> {
  await db
    .insert(auditLog)
    .values({
      id: entry.id,
      at: entry.at,
      actorType: entry.actor.type,
      actorId: entry.actor.id,
      action: entry.action,
      targetType: entry.target.type,
      targetId: entry.target.id,
      before: entry.before === null ? null : JSON.stringify(entry.before),
      after: entry.after === null ? null : JSON.stringify(entry.after),
      requestId: entry.requestId,
    })
    .onConflictDoNothing({ target: auditLog.id });
}

/** Newest first. */
export async function listAuditEntries(db: DrizzleD1Database, query: AuditQuery): Promise<AuditEntry[]> {
  const conditions: (SQL | undefined)[] = [
    query.action === undefined ? undefined : eq(auditLog.action, query.action),
    query.actorType === undefined ? undefined : eq(auditLog.actorType, query.actorType),
    query.actorId === undefined ? undefined : eq(auditLog.actorId, query.actorId),
    query.targetType === undefined ? undefined : eq(auditLog.targetType, query.targetType),
    query.targetId === undefined ? undefined : eq(auditLog.targetId, query.targetId),
    query.from === undefined ? undefined : gte(auditLog.at, query.from),
    query.to === undefined ? undefined : lt(auditLog.at, query.to),
    query.beforeSeq === null ? undefined : lt(auditLog.seq, query.beforeSeq),
  ];
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.seq))
    .limit(query.limit);
  return rows.map((row) => ({
    seq: row.seq,
    id: row.id,
    at: row.at,
    actor: row.actorType === "api_key" ? { type: "api_key", id: row.actorId ?? "" } : { type: "root", id: null },
    action: row.action,
    target: { type: row.targetType, id: row.targetId },
    before: row.before === null ? null : JSON.parse(row.before),
    after: row.after === null ? null : JSON.parse(row.after),
    requestId: row.requestId,
  }));
}
