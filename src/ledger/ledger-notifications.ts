import type { Entitlement, Headroom } from "../domain/entitlements";
import { type UsageWindow, windowBounds } from "../domain/usage-window";
import type { ClosedPeriod } from "./closed-periods";
import type { Grant, LedgerNotification, PeriodRow, Reservation, VoidTarget } from "./contract";

function notificationId(): string {
  return `ntf_${crypto.randomUUID().replaceAll("-", "")}`;
}

/**
 * A threshold (percent of the limit) that usage reached; 100 and above is the limit itself.
 * `eventId` names the event that crossed it, or is null when a configuration change did.
 */
export function thresholdNotification(input: {
  subjectId: string;
  meter: string;
  window: UsageWindow;
  threshold: number;
  usedE4: number;
  entitlement: Entitlement;
  eventId: string | null;
  nowMs: number;
}): LedgerNotification {
  const { subjectId, meter, window, threshold, entitlement } = input;
  return {
    id: notificationId(),
    subjectId,
    type: threshold >= 100 ? "entitlement.limit_reached" : "entitlement.threshold_reached",
    meter,
    createdAt: input.nowMs,
    payload: {
      subjectId,
      meter,
      threshold,
      used: input.usedE4 / 10_000,
      limit: entitlement.limitE4 === null ? null : entitlement.limitE4 / 10_000,
      enforcement: entitlement.enforcement,
      ...windowBounds(window),
      eventId: input.eventId,
    },
  };
}

/** The periods one rollover closed for a subject, in one notification. */
export function periodsClosedNotification(subjectId: string, closed: PeriodRow[], nowMs: number): LedgerNotification {
  return {
    id: notificationId(),
    subjectId,
    type: "period.closed",
    meter: null,
    createdAt: nowMs,
    payload: {
      subjectId,
      periods: closed.map((p) => ({
        meter: p.meter,
        periodStart: new Date(p.periodStart).toISOString(),
        periodEnd: new Date(p.periodEnd).toISOString(),
        total: p.totalE4 / 10_000,
        eventCount: p.eventCount,
        limit: p.limitE4 === null ? null : p.limitE4 / 10_000,
        ...(p.endValueE4 === null ? {} : { endValue: p.endValueE4 / 10_000 }),
        ...(p.peakE4 === null ? {} : { peak: p.peakE4 / 10_000 }),
      })),
    },
  };
}

/** A closed period whose totals changed: a late event, a void or a recalculation landed in it. */
export function periodRestatedNotification(
  subjectId: string,
  before: ClosedPeriod,
  after: ClosedPeriod,
  nowMs: number,
): LedgerNotification {
  return {
    id: notificationId(),
    subjectId,
    type: "period.restated",
    meter: after.meter,
    createdAt: nowMs,
    payload: {
      subjectId,
      meter: after.meter,
      periodStart: new Date(after.start).toISOString(),
      periodEnd: new Date(after.end).toISOString(),
      before: before.totalE4 / 10_000,
      after: after.totalE4 / 10_000,
      eventCountBefore: before.eventCount,
      eventCountAfter: after.eventCount,
    },
  };
}

/** An event taken back by an operator (a void, or the first half of an amend). */
export function usageVoidedNotification(subjectId: string, target: VoidTarget, nowMs: number, reason: string | null): LedgerNotification {
  return {
    id: notificationId(),
    subjectId,
    type: "usage.voided",
    meter: target.meter,
    createdAt: nowMs,
    payload: {
      subjectId,
      eventId: target.id,
      meter: target.meter,
      amount: target.amountE4 / 10_000,
      timestamp: new Date(target.occurredAt).toISOString(),
      voidedAt: new Date(nowMs).toISOString(),
      reason,
    },
  };
}

/** Remaining (allowance, holds and grants counted) fell to or below a configured amount. */
export function balanceLowNotification(input: {
  subjectId: string;
  meter: string;
  window: UsageWindow;
  thresholdE4: number;
  remainingE4: number;
  usedE4: number;
  headroom: Headroom;
  entitlement: Entitlement;
  eventId: string | null;
  nowMs: number;
}): LedgerNotification {
  const { subjectId, meter, entitlement } = input;
  return {
    id: notificationId(),
    subjectId,
    type: "balance.low",
    meter,
    createdAt: input.nowMs,
    payload: {
      subjectId,
      meter,
      threshold: input.thresholdE4 / 10_000,
      remaining: input.remainingE4 / 10_000,
      used: input.usedE4 / 10_000,
      held: input.headroom.heldE4 / 10_000,
      granted: input.headroom.grantedE4 / 10_000,
      limit: entitlement.limitE4 === null ? null : entitlement.limitE4 / 10_000,
      ...windowBounds(input.window),
      eventId: input.eventId,
    },
  };
}

/** A grant's last unit was drawn. */
export function grantDepletedNotification(subjectId: string, grant: Grant, eventId: string | null, nowMs: number): LedgerNotification {
  return {
    id: notificationId(),
    subjectId,
    type: "grant.depleted",
    meter: grant.meter,
    createdAt: nowMs,
    payload: {
      subjectId,
      grantId: grant.id,
      meter: grant.meter,
      amount: grant.amountE4 / 10_000,
      source: grant.source,
      eventId,
    },
  };
}

/** A hold reached its time without a commit or release: what it held is free again. */
export function reservationExpiredNotification(subjectId: string, r: Reservation, nowMs: number): LedgerNotification {
  return {
    id: notificationId(),
    subjectId,
    type: "reservation.expired",
    meter: r.meter,
    createdAt: nowMs,
    payload: {
      subjectId,
      reservationId: r.id,
      meter: r.meter,
      amount: r.amountE4 / 10_000,
      createdAt: new Date(r.createdAt).toISOString(),
      expiresAt: new Date(r.expiresAt).toISOString(),
    },
  };
}
