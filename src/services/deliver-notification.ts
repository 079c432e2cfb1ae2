import { database } from "../db/database";
import { findEndpoint, recordAttempt } from "../db/webhook-endpoints";
import { deliveryIdOf, type Notification, webhookBody } from "../domain/notifications";
import { outboundUrlPolicy } from "../domain/outbound-url";
import { log } from "../http/log";
import { sendWebhook } from "./send-webhook";

/** True when delivered (or there is nothing a retry could deliver to); false asks for a retry. */
export async function deliverNotification(env: Env, notification: Notification, endpointId: string): Promise<boolean> {
  const deliveryId = deliveryIdOf(notification.id, endpointId);
  const endpoint = await findEndpoint(database(env.DB), endpointId);
  if (!endpoint) {
    await recordAttempt(
      env.DB,
      deliveryId,
      { status: "failed", statusCode: null, error: "endpoint deleted", countAttempt: false },
      Date.now(),
    );
    return true;
  }
  const result = await sendWebhook(endpoint, { id: notification.id, body: webhookBody(notification) }, outboundUrlPolicy(env));
  const status = result.ok ? "succeeded" : result.retryable ? "pending" : "failed";
  await recordAttempt(env.DB, deliveryId, { status, statusCode: result.statusCode, error: result.error, countAttempt: true }, Date.now());
  log(result.ok ? "info" : "warn", "notify.delivery", {
    deliveryId,
    type: notification.type,
    statusCode: result.statusCode,
    error: result.error,
  });
  return result.ok || !result.retryable;
}
