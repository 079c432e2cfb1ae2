import type { AuditContext } from "../domain/audit";
import { type AmendInput, assertCorrectable, replacementDraft } from "../domain/corrections";
import { DomainError } from "../domain/errors";
import { type StoredEvent, toPublicEvent } from "../domain/stored-event";
import { ledgerFor } from "../ledger/ledger-client";
import { recordAudit } from "./audit-trail";
import { callLedger } from "./call-ledger";
import { getUsageEvent } from "./get-usage-event";
import { meterKind } from "./meter-kinds";
import { prepareEvents } from "./prepare-events";
import { voidTarget } from "./void-usage-event";

export interface AmendResult {
  voided: StoredEvent;
  event: StoredEvent;
  status: "created" | "duplicate";
}

/**
 * Corrects a recorded event: voids it and records its replacement in one ledger transaction.
 * The same amendment again answers the same result; other corrections of an amended event are a
 * conflict (amend the replacement instead).
 */
export async function amendUsageEvent(
  env: Env,
  audit: AuditContext,
  id: string,
  corrections: AmendInput,
  nowMs = Date.now(),
): Promise<AmendResult> {
  const original = await getUsageEvent(env, id);
  assertCorrectable(original, nowMs);
  const [prepared] = await prepareEvents(env, [replacementDraft(original, corrections)], "amend", nowMs);
  if (!prepared!.ok) throw new DomainError(prepared!.rejection.error.code, prepared!.rejection.error.message);
  const target = voidTarget(original, await meterKind(env, original.meter));
  const reason = corrections.reason ?? null;
  const outcome = await callLedger(() => ledgerFor(env, original.subjectId).amend(original.subjectId, target, prepared!.input, reason));
  if (outcome.status === "conflict") {
    throw new DomainError(
      "IDEMPOTENCY_CONFLICT",
      `Event ${id} was already amended with other corrections; its replacement is ${outcome.event.id} (amend that one instead).`,
      { replacementEventId: outcome.event.id },
    );
  }
  const voided = { ...original, voidedAt: outcome.voided.voidedAt, voidReason: outcome.voided.reason };
  await recordAudit(env, audit, {
    id: `aud_usage.amend_${original.id}`,
    action: "usage.amend",
    target: { type: "usage_event", id: original.id },
    before: toPublicEvent(original),
    after: { voided: toPublicEvent(voided), event: toPublicEvent(outcome.event) },
  });
  return { voided, event: outcome.event, status: outcome.status };
}
