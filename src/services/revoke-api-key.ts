import { type ApiKey, revokeApiKey as markRevoked } from "../db/api-keys";
import { database } from "../db/database";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { recordAudit } from "./audit-trail";
import { getApiKey } from "./get-api-key";
import { forgetApiKey } from "./verify-api-key";

/**
 * Revokes a key: refused at once by this isolate, and by every other within the cache's
 * maximum age. Revoking a revoked key answers it as it is and logs nothing.
 */
export async function revokeApiKey(env: Env, audit: AuditContext, id: string): Promise<ApiKey> {
  const before = await getApiKey(env, id);
  if (before.revokedAt !== null) return before;
  const after = await markRevoked(database(env.DB), id, Date.now());
  if (!after) throw new DomainError("NOT_FOUND", "No such API key.");
  forgetApiKey(id);
  // One entry per key however many revokes race: the first to land is the one logged.
  await recordAudit(env, audit, {
    id: `aud_api_key.revoke_${id}`,
    action: "api_key.revoke",
    target: { type: "api_key", id },
    before,
    after,
  });
  return after;
}
