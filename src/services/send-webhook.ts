import type { WebhookEndpoint } from "../db/webhook-endpoints";
import { checkOutboundUrl, type OutboundUrlPolicy } from "../domain/outbound-url";
import { signatureHeader, signingSecrets } from "../domain/standard-webhooks";

const TIMEOUT_MS = 10_000;

/** What one POST carries: `id` is the webhook-id, the same for every retry of it. */
export interface WebhookMessage {
  id: string;
  body: string;
}

export interface DeliveryResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** False when trying again cannot help: the endpoint's URL is not one deliveries may go to. */
  retryable: boolean;
}

/**
 * POSTs one signed message to one endpoint; any 2xx within 10 s is a delivery. The URL is
 * checked again here (endpoints saved before the rules existed), and a redirect is a failed
 * attempt, never followed: following it would send the signed body wherever it points. During a
 * secret rotation's overlap the message carries a signature for each secret.
 */
export async function sendWebhook(
  endpoint: WebhookEndpoint,
  message: WebhookMessage,
  policy: OutboundUrlPolicy,
  nowMs = Date.now(),
): Promise<DeliveryResult> {
  const target = checkOutboundUrl(endpoint.url, policy);
  if (!target.ok) return { ok: false, statusCode: null, error: `not sent: ${target.reason}`, retryable: false };
  const timestamp = Math.floor(nowMs / 1000);
  try {
    const response = await fetch(target.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "tally-webhooks/1",
        "webhook-id": message.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signatureHeader(signingSecrets(endpoint, nowMs), message.id, timestamp, message.body),
      },
      body: message.body,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.ok) return { ok: true, statusCode: response.status, error: null, retryable: false };
    const redirect = response.status >= 300 && response.status < 400 ? " (redirects are not followed)" : "";
    return { ok: false, statusCode: response.status, error: `HTTP ${response.status}${redirect}`, retryable: true };
  } catch (error) {
    return { ok: false, statusCode: null, error: String(error).slice(0, 500), retryable: true };
  }
}
