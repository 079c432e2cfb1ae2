import { database } from "../db/database";
import { dismissDeadLetter as markDismissed, findDeadLetter, type DeadLetterRow } from "../db/dead-letters";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { recordAudit } from "./audit-trail";
import { deadLetterSnapshot } from "../domain/dead-letters";

/**
 * Sets an open dead letter aside: kept for the record, no longer open. A letter already dismissed,
 * or replayed, is answered as it is and nothing is logged.
 */
export async function dismissDeadLetter(env: Env, audit: AuditContext, id: string): Promise<DeadLetterRow> {
  const db = database(env.DB);
  const before = await findDeadLetter(db, id);
  if (!before) throw new DomainError("NOT_FOUND", "No such dead letter.");
  if (before.status !== "open") return before;
  const after = await markDismissed(db, id, Date.now());
  // Dismissed or replayed meanwhile: that call changed it (and logged it).
  if (!after) return (await findDeadLetter(db, id)) ?? before;
  await recordAudit(env, audit, {
    action: "dead_letter.dismiss",
    target: { type: "dead_letter", id },
    before: deadLetterSnapshot(before),
    after: deadLetterSnapshot(after),
  });
  return after;
}
