import type { GrantInput, GrantOutcome, VoidGrantOutcome } from "./contract";
import { publicGrant } from "./grants";
import { type LedgerStore, newGrantId } from "./ledger-store";

/**
 * Gives a prepaid grant, once per idempotency key: the same grant again answers it (`duplicate`),
 * another one under the key answers the grant that holds it (`conflict`). In the caller's transaction.
 */
export function createGrant(store: LedgerStore, subjectId: string, input: GrantInput, nowMs: number): GrantOutcome {
  store.settle(nowMs);
  const origin = input.idempotencyKey === null ? null : `api:${input.idempotencyKey}`;
  const seen = origin === null ? null : store.grants.byOrigin(origin);
  if (seen) return { status: seen.fingerprint === input.fingerprint ? "duplicate" : "conflict", grant: publicGrant(seen) };
  const id = newGrantId();
  store.grants.insert(
    {
      id,
      subjectId,
      meter: input.meter,
      amountE4: input.amountE4,
      remainingE4: input.amountE4,
      priority: input.priority,
      effectiveAt: input.effectiveAt,
      expiresAt: input.expiresAt,
      voidedAt: null,
      createdAt: nowMs,
      source: "api",
      idempotencyKey: input.idempotencyKey,
      fingerprint: input.fingerprint,
      metadata: input.metadata,
    },
    origin,
  );
  store.syncBalanceAlerts(subjectId, input.meter, nowMs, null);
  return { status: "created", grant: publicGrant(store.grants.find(id)!) };
}

/** Takes a grant out of use from now on; what it already gave stays given. Voiding again answers the first void. */
export function voidGrant(store: LedgerStore, subjectId: string, id: string, nowMs: number): VoidGrantOutcome {
  store.settle(nowMs);
  const grant = store.grants.find(id);
  if (!grant) return { status: "not_found" };
  if (grant.voidedAt !== null) return { status: "already_voided", grant: publicGrant(grant) };
  store.grants.void(id, nowMs);
  store.syncBalanceAlerts(subjectId, grant.meter, nowMs, null);
  return { status: "voided", grant: publicGrant(store.grants.find(id)!) };
}
