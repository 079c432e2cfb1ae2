import type { WebhookEndpoint } from "../db/webhook-endpoints";
import { webhookBody, type Notification } from "../domain/notifications";
import { signWebhook } from "../domain/standard-webhooks";

const TIMEOUT_MS = 10_000;

export interface DeliveryResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

/** POSTs one signed notification to one endpoint; any 2xx within 10 s is a delivery. */
export async function sendWebhook(endpoint: WebhookEndpoint, notification: Notification, nowMs = Date.now()): Promise<DeliveryResult> {
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
