import { insertAuditEntry } from "../db/audit-log";
import { database } from "../db/database";
import { type AuditChange, type AuditContext, auditSnapshot } from "../domain/audit";

/**
 * Writes one configuration change to the audit log. Services call it right after their own
 * write succeeds (before any push to ledgers that may fail), so a change is never unlogged; a
 * write that is retried logs again unless it gives a stable `id`.
 */
export async function recordAudit(env: Env, context: AuditContext, change: AuditChange): Promise<void> {
  await insertAuditEntry(database(env.DB), {
    id: change.id ?? `aud_${crypto.randomUUID().replaceAll("-", "")}`,
    at: Date.now(),
    actor: context.actor,
    action: change.action,
    target: change.target,
    before: auditSnapshot(change.before),
    after: auditSnapshot(change.after),
    requestId: context.requestId,
  });
}
