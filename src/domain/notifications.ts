import type { JsonValue } from "./stored-event";

export const NOTIFICATION_TYPES = [
  "usage.recorded",
  "entitlement.threshold_reached",
  "entitlement.limit_reached",
  "period.closed",
  "period.restated",
  "usage.voided",
  "reservation.expired",
  "grant.depleted",
  "balance.low",
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];
/** The notifications ledgers write (and GET /v1/notifications lists); usage.recorded is sent per flush only. */
export const LEDGER_NOTIFICATION_TYPES = NOTIFICATION_TYPES.filter(
  (t): t is Exclude<NotificationType, "usage.recorded"> => t !== "usage.recorded",
);

/** What ledgers emit and the notifications queue carries; `id` is the webhook-id, stable across retries. */
export interface Notification {
  id: string;
  type: NotificationType;
  subjectId: string;
  /** Epoch ms. */
  createdAt: number;
  payload: Record<string, JsonValue>;
}

/** The JSON body endpoints receive: `{ type, timestamp, data }` as Standard Webhooks suggests. */
export function webhookBody(n: Notification): string {
  return JSON.stringify({ type: n.type, timestamp: new Date(n.createdAt).toISOString(), data: { subjectId: n.subjectId, ...n.payload } });
}

/** A delivery's back-off: 10 s, 20 s, 40 s … at most an hour. */
export function deliveryRetryDelaySeconds(attempts: number): number {
  return Math.min(3600, 10 * 2 ** Math.max(0, attempts - 1));
}
