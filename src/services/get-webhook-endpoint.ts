import { database } from "../db/database";
import { findEndpoint, type WebhookEndpoint } from "../db/webhook-endpoints";
import { DomainError } from "../domain/errors";

export async function getWebhookEndpoint(env: Env, id: string): Promise<WebhookEndpoint> {
  const endpoint = await findEndpoint(database(env.DB), id);
  if (!endpoint) throw new DomainError("NOT_FOUND", "No such webhook endpoint.");
  return endpoint;
}
