import { and, asc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Scope } from "../domain/scopes";
import { apiKeySecrets, apiKeys } from "./schema";

export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** A key as its secret's hash finds it: the key, and when this very secret stops working. */
export interface KeyBySecret {
  key: ApiKey;
  secretExpiresAt: number | null;
}

/** Stores a new key with its first secret, in one batch. */
export async function insertApiKey(db: DrizzleD1Database, key: ApiKey, secretHash: string): Promise<void> {
  await db.batch([
    db.insert(apiKeys).values({ ...key, scopes: JSON.stringify(key.scopes) }),
    db.insert(apiKeySecrets).values({ hash: secretHash, keyId: key.id, createdAt: key.createdAt, expiresAt: null }),
  ]);
}

export async function findApiKey(db: DrizzleD1Database, id: string): Promise<ApiKey | null> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  return row ? toApiKey(row) : null;
}

export async function findKeyBySecretHash(db: DrizzleD1Database, hash: string): Promise<KeyBySecret | null> {
  const [row] = await db
    .select({ key: apiKeys, secretExpiresAt: apiKeySecrets.expiresAt })
    .from(apiKeySecrets)
    .innerJoin(apiKeys, eq(apiKeys.id, apiKeySecrets.keyId))
    .where(eq(apiKeySecrets.hash, hash))
    .limit(1);
  return row ? { key: toApiKey(row.key), secretExpiresAt: row.secretExpiresAt } : null;
}

/** A page of keys in id order, revoked ones only when asked. */
export async function listApiKeys(
  db: DrizzleD1Database,
  query: { afterId: string | null; limit: number; includeRevoked: boolean },
): Promise<ApiKey[]> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(
      and(query.afterId === null ? undefined : gt(apiKeys.id, query.afterId), query.includeRevoked ? undefined : isNull(apiKeys.revokedAt)),
    )
    .orderBy(asc(apiKeys.id))
    .limit(query.limit);
  return rows.map(toApiKey);
}

/** Marks a key revoked, once; answers the key as it stands. */
export async function revokeApiKey(db: DrizzleD1Database, id: string, nowMs: number): Promise<ApiKey | null> {
  await db
    .update(apiKeys)
    .set({ revokedAt: nowMs })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
  return findApiKey(db, id);
}

/**
 * Gives a live key a new secret: the old ones stop at `oldSecretsUntil` (never later than they
 * already would), the new one has no end of its own. One transaction, so rolls racing each other
 * apply one after the other; a revoked key changes nothing (null).
 */
export async function addApiKeySecret(
  db: DrizzleD1Database,
  id: string,
  secret: { hash: string; prefix: string },
  nowMs: number,
  oldSecretsUntil: number,
): Promise<ApiKey | null> {
  const rolled = sql`EXISTS (SELECT 1 FROM api_keys WHERE id = ${id} AND prefix = ${secret.prefix})`;
  const [updated] = await db.batch([
    db
      .update(apiKeys)
      .set({ prefix: secret.prefix })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning(),
    db
      .update(apiKeySecrets)
      .set({ expiresAt: sql`min(coalesce(${apiKeySecrets.expiresAt}, ${oldSecretsUntil}), ${oldSecretsUntil})` })
      .where(and(eq(apiKeySecrets.keyId, id), rolled)),
    db.insert(apiKeySecrets).select(
      db
        .select({
          hash: sql<string>`${secret.hash}`.as("hash"),
          keyId: apiKeys.id,
          createdAt: sql<number>`${nowMs}`.as("created_at"),
          expiresAt: sql<number | null>`NULL`.as("expires_at"),
        })
        .from(apiKeys)
        .where(and(eq(apiKeys.id, id), eq(apiKeys.prefix, secret.prefix))),
    ),
    // Secrets past their overlap are of no more use; drop them as keys roll.
    db.delete(apiKeySecrets).where(and(eq(apiKeySecrets.keyId, id), lt(apiKeySecrets.expiresAt, nowMs), rolled)),
  ]);
  return updated[0] ? toApiKey(updated[0]) : null;
}

/** Records a use, at most once a minute per key, so a busy key costs no write per request. */
export async function touchApiKey(db: DrizzleD1Database, id: string, nowMs: number): Promise<void> {
  await db
    .update(apiKeys)
    .set({ lastUsedAt: nowMs })
    .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, nowMs - 60_000))));
}

function toApiKey(row: typeof apiKeys.$inferSelect): ApiKey {
  return { ...row, scopes: JSON.parse(row.scopes) as Scope[] };
}
