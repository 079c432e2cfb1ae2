import { database } from "../db/database";
import { findEndpoint, saveEndpoint, type WebhookEndpoint } from "../db/webhook-endpoints";
import type { AuditContext } from "../domain/audit";
import type { NotificationType } from "../domain/notifications";
import { newWebhookSecret, withoutSecrets } from "../domain/standard-webhooks";
import { recordAudit } from "./audit-trail";

export interface EndpointInput {
  url: string;
  events: NotificationType[];
  description?: string | undefined;
  rotateSecret?: boolean | undefined;
}

/**
 * Creates or updates an outbound subscription. A new endpoint gets a signing secret, and so does
 * one asked to rotate; `secretIssued` says the caller must be shown it (it is answered only then).
 * Rotating here replaces the secret at once, ending any overlap (rotate-secret is the gentle way).
 */
export async function saveWebhookEndpoint(
  env: Env,
  audit: AuditContext,
  id: string,
  input: EndpointInput,
): Promise<{ endpoint: WebhookEndpoint; created: boolean; secretIssued: boolean }> {
  const db = database(env.DB);
  const existing = await findEndpoint(db, id);
  const now = Date.now();
  const secretIssued = !existing || input.rotateSecret === true;
  const endpoint = await saveEndpoint(
    db,
    {
      id,
      url: input.url,
      events: [...new Set(input.events)],
      description: input.description ?? existing?.description ?? null,
      secret: secretIssued ? newWebhookSecret() : existing!.secret,
      previousSecret: secretIssued ? null : existing!.previousSecret,
      previousSecretExpiresAt: secretIssued ? null : existing!.previousSecretExpiresAt,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    },
    secretIssued,
  );
  await recordAudit(env, audit, {
    action: "webhook_endpoint.put",
    target: { type: "webhook_endpoint", id },
    before: existing && withoutSecrets(existing),
    after: { ...withoutSecrets(endpoint), secretRotated: secretIssued && existing !== null },
  });
  return { endpoint, created: !existing, secretIssued };
}
