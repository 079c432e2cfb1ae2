import { database } from "../db/database";
import { deleteEndpoint } from "../db/webhook-endpoints";
import { DomainError } from "../domain/errors";

export async function deleteWebhookEndpoint(env: Env, id: string): Promise<void> {
  if (!(await deleteEndpoint(database(env.DB), id))) throw new DomainError("NOT_FOUND", "No such webhook endpoint.");
}
