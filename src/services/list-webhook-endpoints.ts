import { database } from "../db/database";
import { listEndpoints, type WebhookEndpoint } from "../db/webhook-endpoints";

/** One page of endpoints in id order after `afterId`, and whether more follow. */
export async function listWebhookEndpoints(
  env: Env,
  afterId: string | null,
  limit: number,
): Promise<{ endpoints: WebhookEndpoint[]; more: boolean }> {
  const rows = await listEndpoints(database(env.DB), afterId, limit + 1);
  return { endpoints: rows.slice(0, limit), more: rows.length > limit };
}
