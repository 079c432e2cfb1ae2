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

/** A notification's delivery to one endpoint: one row in the delivery log, whatever its retries. */
export function deliveryIdOf(notificationId: string, endpointId: string): string {
  return `${notificationId}:${endpointId}`;
}

/** The JSON body endpoints receive: `{ type, timestamp, data }` as Standard Webhooks suggests. */
export function webhookBody(n: Notification): string {
  return envelope(n.type, n.createdAt, { subjectId: n.subjectId, ...n.payload });
}

/** The event POST /v1/webhook-endpoints/{id}/test sends. */
export const TEST_EVENT_TYPE = "webhook.test";

/** A test event's body: of no subject, so nothing counts it as a notification. */
export function testWebhookBody(endpointId: string, sentAtMs: number): string {
  return envelope(TEST_EVENT_TYPE, sentAtMs, { endpointId, sentAt: new Date(sentAtMs).toISOString() });
}

function envelope(type: string, atMs: number, data: Record<string, JsonValue>): string {
  return JSON.stringify({ type, timestamp: new Date(atMs).toISOString(), data });
}

/** A delivery's back-off: 10 s, 20 s, 40 s … at most an hour. */
export function deliveryRetryDelaySeconds(attempts: number): number {
  return Math.min(3600, 10 * 2 ** Math.max(0, attempts - 1));
}
