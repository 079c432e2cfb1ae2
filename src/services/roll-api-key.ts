import { type ApiKey, addApiKeySecret } from "../db/api-keys";
import { database } from "../db/database";
import { generateApiKeySecret, hashApiKeySecret, visiblePrefix } from "../domain/api-key-secret";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { recordAudit } from "./audit-trail";
import { getApiKey } from "./get-api-key";
import { forgetApiKey } from "./verify-api-key";

/**
 * A new secret for the same key (id, name, scopes). The old secret keeps working for
 * `overlapSeconds` (0: it stops now), so callers can move over without a gap.
 */
export async function rollApiKey(
  env: Env,
  audit: AuditContext,
  id: string,
  overlapSeconds: number,
): Promise<{ apiKey: ApiKey; secret: string }> {
  const before = await getApiKey(env, id);
  if (before.revokedAt !== null) throw revoked();
  const secret = generateApiKeySecret();
  const now = Date.now();
  const until = now + overlapSeconds * 1000;
  const hash = await hashApiKeySecret(secret);
  const apiKey = await addApiKeySecret(database(env.DB), id, { hash, prefix: visiblePrefix(secret) }, now, until);
  if (!apiKey) throw revoked();
  forgetApiKey(id);
  await recordAudit(env, audit, {
    action: "api_key.roll",
    target: { type: "api_key", id },
    before,
    after: { ...apiKey, previousSecretExpiresAt: until },
  });
  return { apiKey, secret };
}

const revoked = () => new DomainError("API_KEY_REVOKED", "This API key is revoked; create a new one.");
