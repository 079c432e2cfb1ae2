import { database } from "../db/database";
import { updateEndpointSecrets, type WebhookEndpoint } from "../db/webhook-endpoints";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { newWebhookSecret, withoutSecrets } from "../domain/standard-webhooks";
import { recordAudit } from "./audit-trail";
import { getWebhookEndpoint } from "./get-webhook-endpoint";

/**
 * A new signing secret. For `overlapSeconds` deliveries are signed with the new and the current
 * secret, so receivers can switch without refusing any; 0 drops the current one now. Only two
 * secrets sign at once: rotating during an overlap drops the oldest, which ends its overlap early.
 */
export async function rotateWebhookSecret(
  env: Env,
  audit: AuditContext,
  id: string,
  overlapSeconds: number,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const db = database(env.DB);
  // Computed from the secret read; a rotation that landed meanwhile makes the write miss, and this
  // one starts again from it, so no caller is handed a secret that was replaced as it was issued.
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await getWebhookEndpoint(env, id);
    const now = Date.now();
    const secret = newWebhookSecret();
    const overlap = overlapSeconds > 0;
    const endpoint = await updateEndpointSecrets(
      db,
      id,
      {
        secret,
        previousSecret: overlap ? before.secret : null,
        previousSecretExpiresAt: overlap ? now + overlapSeconds * 1000 : null,
      },
      now,
      before.secret,
    );
    if (!endpoint) continue;
    await recordAudit(env, audit, {
      action: "webhook_endpoint.rotate_secret",
      target: { type: "webhook_endpoint", id },
      before: withoutSecrets(before),
      after: withoutSecrets(endpoint),
    });
    return { endpoint, secret };
  }
  throw new DomainError("INTERNAL_ERROR", "The endpoint's secret kept changing under this rotation; retry it.");
}
