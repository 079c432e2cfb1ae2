import type { Decision } from "../domain/entitlements";
import { DomainError } from "../domain/errors";
import { toPublicDecision } from "../domain/public-decision";
import type { StoredEvent } from "../domain/stored-event";
import type { EventDraft } from "../domain/usage-event";
import { ledgerFor } from "../ledger/ledger-client";
import { callLedger } from "./call-ledger";
import { prepareEvents } from "./prepare-events";

export interface Consumed {
  /** Taken before the consumption. */
  decision: Decision;
  status: "created" | "duplicate";
  event: StoredEvent;
}

/**
 * Decides and records in one ledger call. Over a hard limit: LIMIT_EXCEEDED and nothing recorded.
 * A replay of the same idempotency key answers the original decision.
 */
export async function consumeEntitlement(env: Env, draft: EventDraft): Promise<Consumed> {
  const { subjectId, meter } = draft;
  const [prepared] = await prepareEvents(env, [draft], "consume", Date.now());
  if (!prepared!.ok) throw new DomainError(prepared!.rejection.error.code, prepared!.rejection.error.message);
  const outcome = await callLedger(() => ledgerFor(env, subjectId).consume(subjectId, prepared!.input));
  if (outcome.status === "denied") {
    throw new DomainError(
      "LIMIT_EXCEEDED",
      `Consuming ${draft.amount} of '${meter}' would pass the hard limit.`,
      toPublicDecision(outcome.decision),
    );
  }
  if (outcome.status === "conflict" || !outcome.decision) {
    throw new DomainError("IDEMPOTENCY_CONFLICT", `idempotencyKey was already used for a different event (${outcome.event.id}).`);
  }
  return { decision: outcome.decision, status: outcome.status, event: outcome.event };
}
