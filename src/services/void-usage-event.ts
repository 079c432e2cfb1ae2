import type { AuditContext } from "../domain/audit";
import { assertCorrectable } from "../domain/corrections";
import { type StoredEvent, toPublicEvent } from "../domain/stored-event";
import type { VoidTarget } from "../ledger/contract";
import { ledgerFor } from "../ledger/ledger-client";
import { recordAudit } from "./audit-trail";
import { callLedger } from "./call-ledger";
import { getUsageEvent } from "./get-usage-event";
import { meterKind } from "./meter-kinds";

export interface VoidResult {
  event: StoredEvent;
  status: "voided" | "already_voided";
}

/**
 * Takes back a recorded event: its subject's ledger restates counters, gauge levels, closed
 * periods and thresholds in one transaction; history keeps the event, marked voided. Voiding
 * again changes nothing.
 */
export async function voidUsageEvent(
  env: Env,
  audit: AuditContext,
  id: string,
  reason: string | null,
  nowMs = Date.now(),
): Promise<VoidResult> {
  const event = await getUsageEvent(env, id);
  const kind = await meterKind(env, event.meter);
  // A gauge's repeated void still reaches its ledger, which rebuilds the level again: the first
  // void's rebuild may have failed after history had the void.
  if (event.voidedAt != null && kind === "counter") return { event, status: "already_voided" };
  if (event.voidedAt == null) assertCorrectable(event, nowMs);
  const target = voidTarget(event, kind);
  const outcome = await callLedger(() => ledgerFor(env, event.subjectId).voidEvent(event.subjectId, target, reason));
  const voided = { ...event, voidedAt: outcome.voidedAt, voidReason: outcome.reason };
  await recordAudit(env, audit, {
    id: `aud_usage.void_${event.id}`,
    action: "usage.void",
    target: { type: "usage_event", id: event.id },
    before: event.voidedAt == null ? toPublicEvent(event) : null,
    after: toPublicEvent(voided),
  });
  return { event: voided, status: outcome.status };
}

export function voidTarget(event: StoredEvent, kind: VoidTarget["kind"]): VoidTarget {
  return { id: event.id, meter: event.meter, kind, amountE4: event.amountE4, occurredAt: event.occurredAt };
}
