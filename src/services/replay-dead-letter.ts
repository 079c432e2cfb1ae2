import { database } from "../db/database";
import { findDeadLetter, markReplayed, type DeadLetterRow } from "../db/dead-letters";
import type { AuditContext } from "../domain/audit";
import { DomainError, type ErrorCode } from "../domain/errors";
import { applyUsageMessages } from "./apply-usage-messages";
import { recordAudit } from "./audit-trail";
import { deadLetterSnapshot } from "../domain/dead-letters";

export type ReplayResult = { status: "applied" | "duplicate"; eventId: string } | { status: "rejected"; reason: ErrorCode; detail: string };

/**
 * Runs a dead letter through the same path as the queue consumer, with the same idempotency key,
 * so replaying a message that was applied meanwhile changes nothing.
 */
export async function replayDeadLetter(
  env: Env,
  audit: AuditContext,
  id: string,
): Promise<{ deadLetter: DeadLetterRow; result: ReplayResult }> {
  const db = database(env.DB);
  const letter = await findDeadLetter(db, id);
  if (!letter) throw new DomainError("NOT_FOUND", "No such dead letter.");
  const [outcome] = await applyUsageMessages(env, [{ id: letter.messageId, body: JSON.parse(letter.body) as unknown }]);
  if (outcome!.kind === "retry") throw new DomainError("LEDGER_UNAVAILABLE", "The subject's ledger did not answer; replay again later.");
  const result: ReplayResult =
    outcome!.kind === "dead"
      ? { status: "rejected", reason: outcome!.reason, detail: outcome!.detail }
      : { status: outcome!.kind, eventId: outcome!.eventId };
  const replayed = (await markReplayed(db, letter.id, result.status, Date.now())) ?? letter;
  await recordAudit(env, audit, {
    action: "dead_letter.replay",
    target: { type: "dead_letter", id },
    before: deadLetterSnapshot(letter),
    after: result,
  });
  return { deadLetter: replayed, result };
}
