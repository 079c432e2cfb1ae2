import type { Entitlement } from "../domain/entitlements";
import { type UsageWindow, windowBounds } from "../domain/usage-window";
import type { ClosedPeriod } from "./closed-periods";
import type { LedgerNotification, PeriodRow, VoidTarget } from "./contract";

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
