import { database } from "../db/database";
import { findNotification } from "../db/notifications";
import { type DeliveryRow, findDelivery, markDeliveryPending } from "../db/webhook-endpoints";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { TEST_EVENT_TYPE } from "../domain/notifications";
import type { NotifyMessage } from "../domain/queue-messages";
import { recordAudit } from "./audit-trail";
import { getWebhookEndpoint } from "./get-webhook-endpoint";

/**
 * Queues a delivery again, as pending, through the notifications queue with its usual retries.
 * The notification is the stored one with its own id, so receivers see the same webhook-id and
 * can deduplicate. Only notifications kept in D1 can be sent again: usage.recorded batches are
 * not kept, and a test event is sent anew with …/test instead.
 */
export async function redeliverWebhook(env: Env, audit: AuditContext, endpointId: string, deliveryId: string): Promise<DeliveryRow> {
  await getWebhookEndpoint(env, endpointId);
  const db = database(env.DB);
  const before = await findDelivery(db, endpointId, deliveryId);
  if (!before) throw new DomainError("NOT_FOUND", "No such delivery for this webhook endpoint.");
  if (before.eventType === TEST_EVENT_TYPE) {
    throw new DomainError("NOT_FOUND", "A test delivery is not sent again; POST …/test sends a new one.", {
      notificationId: before.notificationId,
      reason: "test_event",
    });
  }
  const notification = await findNotification(db, before.notificationId);
  if (!notification) {
    throw new DomainError("NOT_FOUND", `The notification of this delivery is not kept (${before.eventType}), so it cannot be sent again.`, {
      notificationId: before.notificationId,
      reason: "notification_not_kept",
    });
  }
  const delivery = await markDeliveryPending(db, deliveryId, Date.now());
  if (!delivery) throw new DomainError("NOT_FOUND", "No such delivery for this webhook endpoint.");
  await recordAudit(env, audit, {
    action: "webhook_delivery.redeliver",
    target: { type: "webhook_delivery", id: deliveryId },
    before,
    after: delivery,
  });
  await env.NOTIFY_QUEUE.send({ kind: "deliver", notification, endpointId } satisfies NotifyMessage);
  return delivery;
}
