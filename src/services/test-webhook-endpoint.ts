import { database } from "../db/database";
import { type DeliveryRow, insertDelivery } from "../db/webhook-endpoints";
import type { AuditContext } from "../domain/audit";
import { deliveryIdOf, TEST_EVENT_TYPE, testWebhookBody } from "../domain/notifications";
import { outboundUrlPolicy } from "../domain/outbound-url";
import { log } from "../http/log";
import { recordAudit } from "./audit-trail";
import { getWebhookEndpoint } from "./get-webhook-endpoint";
import { sendWebhook } from "./send-webhook";

/**
 * Sends a `webhook.test` event now, through the sender every delivery uses (same signing, URL
 * rules and 10 s bound), and logs it with its outcome in the endpoint's delivery log. It is sent
 * once: never queued, so never retried, and written to no subject's notifications.
 */
export async function testWebhookEndpoint(
  env: Env,
  audit: AuditContext,
  endpointId: string,
): Promise<{ delivery: DeliveryRow; durationMs: number }> {
  const endpoint = await getWebhookEndpoint(env, endpointId);
  const notificationId = `ntf_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const sentAt = Date.now();
  const result = await sendWebhook(
    endpoint,
    { id: notificationId, body: testWebhookBody(endpointId, sentAt) },
    outboundUrlPolicy(env),
    sentAt,
  );
  const finishedAt = Date.now();
  const delivery: DeliveryRow = {
    id: deliveryIdOf(notificationId, endpointId),
    endpointId,
    notificationId,
    eventType: TEST_EVENT_TYPE,
    status: result.ok ? "succeeded" : "failed",
    attempts: 1,
    lastStatusCode: result.statusCode,
    lastError: result.error,
    createdAt: sentAt,
    updatedAt: finishedAt,
  };
  await insertDelivery(database(env.DB), delivery);
  const durationMs = finishedAt - sentAt;
  await recordAudit(env, audit, {
    action: "webhook_endpoint.test",
    target: { type: "webhook_endpoint", id: endpointId },
    before: null,
    after: { deliveryId: delivery.id, status: delivery.status, statusCode: result.statusCode, error: result.error, durationMs },
  });
  log(result.ok ? "info" : "warn", "notify.test", {
    deliveryId: delivery.id,
    statusCode: result.statusCode,
    error: result.error,
    durationMs,
  });
  return { delivery, durationMs };
}
