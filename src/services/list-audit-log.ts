import { type AuditEntry, type AuditQuery, listAuditEntries } from "../db/audit-log";
import { database } from "../db/database";

export async function listAuditLog(env: Env, query: AuditQuery): Promise<{ entries: AuditEntry[]; nextSeq: number | null }> {
  const entries = await listAuditEntries(database(env.DB), { ...query, limit: query.limit + 1 });
  const page = entries.slice(0, query.limit);
  return { entries: page, nextSeq: entries.length > query.limit ? page[page.length - 1]!.seq : null };
}
