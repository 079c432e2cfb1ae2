import { database } from "../db/database";
import { deleteEndpoint } from "../db/webhook-endpoints";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { withoutSecrets } from "../domain/standard-webhooks";
import { recordAudit } from "./audit-trail";

export async function deleteWebhookEndpoint(env: Env, audit: AuditContext, id: string): Promise<void> {
  const deleted = await deleteEndpoint(database(env.DB), id);
  if (!deleted) throw new DomainError("NOT_FOUND", "No such webhook endpoint.");
  await recordAudit(env, audit, {
    action: "webhook_endpoint.delete",
    target: { type: "webhook_endpoint", id },
    before: withoutSecrets(deleted),
    after: null,
  });
}
