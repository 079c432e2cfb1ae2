import { database } from "../db/database";
import { findEndpoint, recordAttempt, type WebhookEndpoint } from "../db/webhook-endpoints";
import { webhookBody, type Notification } from "../domain/notifications";
import { signWebhook } from "../domain/standard-webhooks";
import { log } from "../http/log";

const TIMEOUT_MS = 10_000;

interface DeliveryResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

/** True when delivered (or nothing is left to deliver to); false asks for a retry. */
export async function deliverNotification(env: Env, notification: Notification, endpointId: string): Promise<boolean> {
  const deliveryId = `${notification.id}:${endpointId}`;
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
  const result = await sendWebhook(endpoint, notification);
  await recordAttempt(
    env.DB,
    deliveryId,
    { status: result.ok ? "succeeded" : "pending", statusCode: result.statusCode, error: result.error, countAttempt: true },
    Date.now(),
  );
  log(result.ok ? "info" : "warn", "notify.delivery", {
    deliveryId,
    type: notification.type,
    statusCode: result.statusCode,
    error: result.error,
  });
  return result.ok;
}

/** POSTs one signed notification to one endpoint; any 2xx within 10 s is a delivery. */
async function sendWebhook(endpoint: WebhookEndpoint, notification: Notification, nowMs = Date.now()): Promise<DeliveryResult> {
  const body = webhookBody(notification);
  const timestamp = Math.floor(nowMs / 1000);
  try {
    const response = await fetch(endpoint.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "tally-webhooks/1",
        "webhook-id": notification.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signWebhook(endpoint.secret, notification.id, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok
      ? { ok: true, statusCode: response.status, error: null }
      : { ok: false, statusCode: response.status, error: `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, statusCode: null, error: String(error).slice(0, 500) };
  }
}
