import { findKeyBySecretHash, touchApiKey } from "../db/api-keys";
import { database } from "../db/database";
import { ApiKeyCache, type VerifiedKey } from "../domain/api-key-cache";
import { hashApiKeySecret } from "../domain/api-key-secret";
import { DomainError } from "../domain/errors";

export { API_KEY_PREFIX } from "../domain/api-key-secret";

/** Revocations made in another isolate are seen within MAX_AGE_MS (the contract says 60 s). */
const FRESH_MS = 20_000;
const MAX_AGE_MS = 45_000;

const cache = new ApiKeyCache({ freshMs: FRESH_MS, maxAgeMs: MAX_AGE_MS, maxEntries: 2_000 });
const lastTouched = new Map<string, number>();

/**
 * The key a `tly_…` bearer token belongs to, refused (401) when unknown, revoked or expired.
 * After a key's first use in an isolate its checks read the cache; `inBackground` runs the
 * reloads and the `lastUsedAt` writes beside the request.
 */
export async function verifyApiKey(env: Env, secret: string, inBackground: (work: Promise<unknown>) => void): Promise<VerifiedKey> {
  const hash = await hashApiKeySecret(secret);
  const key = await cache.get(hash, (h) => loadKey(env, h), inBackground);
  const now = Date.now();
  if (!key) throw new DomainError("UNAUTHORIZED", "Unknown API key.", { reason: "unknown_key" });
  if (key.revoked) throw new DomainError("UNAUTHORIZED", "This API key has been revoked.", { reason: "revoked" });
  if (key.expiresAt !== null && key.expiresAt <= now) {
    throw new DomainError("UNAUTHORIZED", "This API key (or this secret of it, after a roll) has expired.", { reason: "expired" });
  }
  if ((lastTouched.get(key.id) ?? 0) < now - 60_000) {
    lastTouched.set(key.id, now);
    inBackground(touchApiKey(database(env.DB), key.id, now).catch(() => lastTouched.delete(key.id)));
  }
  return key;
}

/** Drops a key from this isolate's cache at once (revoke and roll call it). */
export function forgetApiKey(keyId: string): void {
  cache.forgetKey(keyId);
}

async function loadKey(env: Env, hash: string): Promise<VerifiedKey | null> {
  const found = await findKeyBySecretHash(database(env.DB), hash);
  if (!found) return null;
  const ends = [found.key.expiresAt, found.secretExpiresAt].filter((t): t is number => t !== null);
  return {
    id: found.key.id,
    scopes: found.key.scopes,
    expiresAt: ends.length === 0 ? null : Math.min(...ends),
    revoked: found.key.revokedAt !== null,
  };
}
