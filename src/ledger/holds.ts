import type { CommitInput, CommitOutcome, LedgerEventInput, ReleaseOutcome, ReservationInput, ReserveOutcome } from "./contract";
import { reservationExpiredNotification } from "./ledger-notifications";
import type { StoredEvent } from "../domain/stored-event";
import type { LedgerStore } from "./ledger-store";
import { publicReservation, type StoredReservation } from "./reservations";

/**
 * Holds (reservations): an amount set aside under a meter's limit now, for usage whose size is
 * known only later (a fax's pages after delivery). A live hold counts against `remaining` like
 * usage does, so consumes and other holds can never take what it set aside. Each function runs
 * inside the caller's transaction.
 */

/** Sets `amountE4` aside for `ttlMs`, or denies it when it would not fit a hard limit. */
export function reserve(store: LedgerStore, subjectId: string, input: ReservationInput, nowMs: number): ReserveOutcome {
  store.settle(nowMs);
  if (input.idempotencyKey !== null) {
    const seen = store.reservations.byKey(input.idempotencyKey);
    if (seen) {
      const reservation = publicReservation(expireIfDue(store, subjectId, seen, nowMs), nowMs);
      if (seen.fingerprint !== input.fingerprint) return { status: "conflict", reservation };
      return { status: "duplicate", reservation, snapshot: store.snapshot(input.meter, input.kind, nowMs) };
    }
  }
  const { decision, snapshot } = store.decideNow(input.meter, input.kind, input.amountE4, nowMs);
  if (!decision.allowed) return { status: "denied", decision, snapshot };
  const { limitE4 } = store.entitlementOf(input.meter);
  const window = store.windowAt(input.meter, nowMs);
  const free =
    input.kind === "gauge" || limitE4 === null
      ? input.amountE4
      : store.allowanceLeftE4(input.meter, window, snapshot.usedE4, limitE4, nowMs);
  const reservation: StoredReservation = {
    id: `rsv_${crypto.randomUUID().replaceAll("-", "")}`,
    subjectId,
    meter: input.meter,
    unit: input.unit,
    amountE4: input.amountE4,
    status: "held",
    createdAt: nowMs,
    expiresAt: nowMs + input.ttlMs,
    resolvedAt: null,
    committedAmountE4: null,
    eventId: null,
    idempotencyKey: input.idempotencyKey,
    fingerprint: input.fingerprint,
    kind: input.kind,
    dimensions: input.dimensions,
    metadata: input.metadata,
  };
  store.reservations.insert(reservation);
  // Past the free allowance, the hold sets grant balance aside now: a grant expiring before the commit cannot leave it short.
  store.lockGrants(subjectId, reservation.id, input.meter, input.amountE4 - free, nowMs);
  store.syncBalanceAlerts(subjectId, input.meter, nowMs, null);
  return { status: "created", reservation: publicReservation(reservation), snapshot: store.snapshot(input.meter, input.kind, nowMs) };
}

/**
 * Records what the held usage turned out to be and ends the hold. More than was held is recorded
 * too (it happened) and reported as overage past a hard limit; less frees the rest. Terminal and
 * idempotent: the same commit again answers the first; another amount is a conflict.
 */
export function commit(store: LedgerStore, subjectId: string, id: string, input: CommitInput, nowMs: number): CommitOutcome {
  store.settle(nowMs);
  const found = store.reservations.find(id);
  if (!found) return { status: "not_found" };
  const held = expireIfDue(store, subjectId, found, nowMs);
  const amountE4 = input.amountE4 ?? held.amountE4;
  const { kind } = held;
  if (held.status === "committed") {
    if (amountE4 !== held.committedAmountE4 && input.amountE4 !== null) return { status: "conflict", reservation: publicReservation(held) };
    const { decision } = store.decideNow(held.meter, kind, 0, nowMs);
    return { status: "already_committed", reservation: publicReservation(held), event: committedEvent(store, id), decision };
  }
  if (held.status !== "held") return { status: "not_held", reservation: publicReservation(held) };

  // The hold ends first, so the usage is measured against what is left without it.
  store.reservations.resolve(id, "committed", nowMs, { amountE4, event: null });
  const { decision } = store.decideNow(held.meter, kind, amountE4, nowMs);
  const locked = store.grants.takeLocks(id);
  let event: StoredEvent | null = null;
  if (amountE4 > 0) {
    const key = input.idempotencyKey ?? `reservation:${id}`;
    const recorded: LedgerEventInput = {
      subjectId,
      meter: held.meter,
      unit: held.unit,
      kind,
      operation: "add",
      amountE4,
      occurredAt: input.occurredAt ?? nowMs,
      idempotencyKey: key,
      fingerprint: `${key}:${amountE4}`,
      dimensions: held.dimensions,
      metadata: { ...held.metadata, ...input.metadata },
      source: input.source,
      mode: "record",
      lockedDraws: locked,
    };
    const [outcome] = store.applyAll(subjectId, [recorded], nowMs);
    if (outcome?.status === "denied" || !outcome) throw new Error("a recorded commit was denied");
    // A key already used (a fax billed before its hold was committed) stands for the usage once,
    // and the grant balance the hold set aside goes back.
    if (outcome.status !== "created") store.grants.settle(id, held.meter, nowMs, 0, locked);
    event = outcome.event;
  } else {
    store.grants.settle(id, held.meter, nowMs, 0, locked);
    store.syncBalanceAlerts(subjectId, held.meter, nowMs, null);
  }
  // A key used before may stand for an event only history still has: keep its id, read it when asked.
  store.reservations.setCommittedEvent(id, event, event === null || !store.isUnresolved(event));
  const committed = store.reservations.find(id)!;
  return { status: "committed", reservation: publicReservation(committed), event, decision };
}

/** Frees a hold. Terminal and idempotent; a committed or expired hold is not held. */
export function release(store: LedgerStore, subjectId: string, id: string, nowMs: number): ReleaseOutcome {
  store.settle(nowMs);
  const found = store.reservations.find(id);
  if (!found) return { status: "not_found" };
  const held = expireIfDue(store, subjectId, found, nowMs);
  if (held.status === "released") return { status: "already_released", reservation: publicReservation(held) };
  if (held.status !== "held") return { status: "not_held", reservation: publicReservation(held) };
  store.reservations.resolve(id, "released", nowMs);
  store.grants.refund(id);
  store.syncBalanceAlerts(subjectId, held.meter, nowMs, null);
  return { status: "released", reservation: publicReservation(store.reservations.find(id)!) };
}

/** Marks every hold past its time expired and notifies each; answers how many. */
export function expireDue(store: LedgerStore, subjectId: string, nowMs: number): number {
  const due = store.reservations.due(nowMs);
  for (const r of due) expire(store, subjectId, r, nowMs);
  return due.length;
}

function expireIfDue(store: LedgerStore, subjectId: string, r: StoredReservation, nowMs: number): StoredReservation {
  if (r.status !== "held" || r.expiresAt > nowMs) return r;
  expire(store, subjectId, r, nowMs);
  return store.reservations.find(r.id)!;
}

function expire(store: LedgerStore, subjectId: string, r: StoredReservation, nowMs: number): void {
  // Expired at its time, whenever the alarm got to it.
  store.reservations.resolve(r.id, "expired", r.expiresAt);
  store.grants.refund(r.id);
  store.outbox.append("notification", JSON.stringify(reservationExpiredNotification(subjectId, r, nowMs)));
  store.syncBalanceAlerts(subjectId, r.meter, nowMs, null);
}

/** The event a commit recorded, from its copy or, by id, from the outbox or history. */
function committedEvent(store: LedgerStore, id: string): StoredEvent | null {
  const kept = store.reservations.committedEvent(id);
  return kept && (kept.event ?? store.eventsOf([kept]).get(kept.eventId)!);
}
