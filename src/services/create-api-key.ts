import { type ApiKey, insertApiKey } from "../db/api-keys";
import { database } from "../db/database";
import { generateApiKeySecret, hashApiKeySecret, newApiKeyId, visiblePrefix } from "../domain/api-key-secret";
import type { AuditContext } from "../domain/audit";
import type { Scope } from "../domain/scopes";
import { recordAudit } from "./audit-trail";

export interface CreateApiKeyInput {
  name: string;
  scopes: Scope[];
  expiresAt: number | null;
}

/** A new key and its secret, which is returned this once and stored only as a hash. */
export async function createApiKey(env: Env, audit: AuditContext, input: CreateApiKeyInput): Promise<{ apiKey: ApiKey; secret: string }> {
  const secret = generateApiKeySecret();
  const apiKey: ApiKey = {
    id: newApiKeyId(),
    name: input.name,
    scopes: [...new Set(input.scopes)],
    prefix: visiblePrefix(secret),
    createdAt: Date.now(),
    expiresAt: input.expiresAt,
    lastUsedAt: null,
    revokedAt: null,
  };
  await insertApiKey(database(env.DB), apiKey, await hashApiKeySecret(secret));
  await recordAudit(env, audit, { action: "api_key.create", target: { type: "api_key", id: apiKey.id }, before: null, after: apiKey });
  return { apiKey, secret };
}
