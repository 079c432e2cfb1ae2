import { type ApiKey, findApiKey, listApiKeys } from "../db/api-keys";
import { database } from "../db/database";
import { DomainError } from "../domain/errors";

export async function getApiKey(env: Env, id: string): Promise<ApiKey> {
  const key = await findApiKey(database(env.DB), id);
  if (!key) throw new DomainError("NOT_FOUND", "No such API key.");
  return key;
}

export async function listApiKeyPage(
  env: Env,
  query: { afterId: string | null; limit: number; includeRevoked: boolean },
): Promise<{ keys: ApiKey[]; more: boolean }> {
  const rows = await listApiKeys(database(env.DB), { ...query, limit: query.limit + 1 });
  return { keys: rows.slice(0, query.limit), more: rows.length > query.limit };
}
