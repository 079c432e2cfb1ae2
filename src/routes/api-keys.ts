import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { ApiKey } from "../db/api-keys";
import { SCOPES } from "../domain/scopes";
import { wellFormedString } from "../domain/well-formed";
import type { AppEnv } from "../http/app-env";
import { auditContext } from "../http/auth";
import { createApiKey } from "../services/create-api-key";
import { getApiKey, listApiKeyPage } from "../services/get-api-key";
import { revokeApiKey } from "../services/revoke-api-key";
import { rollApiKey } from "../services/roll-api-key";
import { apiKeyCursor } from "./cursor";
import { booleanQueryFlag, createRoute, errorResponses, json, jsonBody, PageQuery, queryParameters, requiresScope } from "./schemas";

const KeyId = wellFormedString().min(1).max(100);
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: "The secret's first characters (`tly_…`), to tell keys apart" }),
    scopes: z.array(z.enum(SCOPES)),
    createdAt: z.string().openapi({ format: "date-time" }),
    expiresAt: z.string().nullable().openapi({ format: "date-time" }),
    lastUsedAt: z.string().nullable().openapi({ format: "date-time", description: "Updated at most once a minute" }),
    revokedAt: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("ApiKey");

export const CreateApiKeyInput = z
  .strictObject({
    name: wellFormedString().min(1).max(200),
    scopes: z
      .array(z.enum(SCOPES))
      .min(1)
      .max(SCOPES.length * 2),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .refine((at) => at === undefined || Date.parse(at) > Date.now(), "must be in the future"),
  })
  .openapi("ApiKeyInput");

export const RollApiKeyInput = z
  .strictObject({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_OVERLAP_SECONDS)
      .optional()
      .openapi({ description: "How long the old secret keeps working (default 0: it stops now; at most 7 days)" }),
  })
  .openapi("ApiKeyRollInput");

const WithSecret = z.object({
  apiKey: ApiKeySchema,
  secret: z.string().openapi({ description: "The key itself (`tly_…`). Shown this once; only its hash is kept." }),
});

const createKey = createRoute({
  method: "post",
  path: "/v1/api-keys",
  tags: ["api keys"],
  summary: "Create an API key with scopes",
  description:
    "Scopes: `usage:write` (record, batch, async), `usage:read` (history, summaries, export, periods, notifications, a subject's balances), `entitlements:write` (check, consume, reserve, commit, release, gauge moves, grants), `admin` (configuration and operations). `admin` does not include the others. The secret is in this answer only.",
  security: requiresScope("admin"),
  request: jsonBody(CreateApiKeyInput),
  responses: { 201: json(WithSecret, "Created; keep the secret now"), ...errorResponses(413, 415) },
});

const listKeys = createRoute({
  method: "get",
  path: "/v1/api-keys",
  tags: ["api keys"],
  summary: "List API keys (never their secrets), in id order",
  security: requiresScope("admin"),
  request: {
    query: queryParameters({ includeRevoked: booleanQueryFlag("List revoked keys too (default false)"), ...PageQuery }),
  },
  responses: { 200: json(z.object({ data: z.array(ApiKeySchema), nextCursor: z.string().nullable() }), "One page"), ...errorResponses() },
});

const getKey = createRoute({
  method: "get",
  path: "/v1/api-keys/{id}",
  tags: ["api keys"],
  summary: "Read an API key",
  security: requiresScope("admin"),
  request: { params: z.object({ id: KeyId }) },
  responses: { 200: json(z.object({ apiKey: ApiKeySchema }), "The key"), ...errorResponses(404) },
});

const revokeKey = createRoute({
  method: "delete",
  path: "/v1/api-keys/{id}",
  tags: ["api keys"],
  summary: "Revoke an API key",
  description: "Refused with 401 from now on: at once where it was revoked, everywhere within 60 s. Revoking again answers the same key.",
  security: requiresScope("admin"),
  request: { params: z.object({ id: KeyId }) },
  responses: { 200: json(z.object({ apiKey: ApiKeySchema }), "Revoked"), ...errorResponses(404) },
});

const rollKey = createRoute({
  method: "post",
  path: "/v1/api-keys/{id}/roll",
  tags: ["api keys"],
  summary: "Give an API key a new secret",
  description: "Same id, name and scopes. The old secret keeps working for `overlapSeconds`. 409 API_KEY_REVOKED for a revoked key.",
  security: requiresScope("admin"),
  request: { params: z.object({ id: KeyId }), body: { content: { "application/json": { schema: RollApiKeyInput } }, required: false } },
  responses: { 200: json(WithSecret, "Rolled; keep the new secret now"), ...errorResponses(404, 409, 413, 415) },
});

export function registerApiKeyRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createKey, async (c) => {
    const body = c.req.valid("json");
    const created = await createApiKey(c.env, auditContext(c), {
      name: body.name,
      scopes: body.scopes,
      expiresAt: body.expiresAt === undefined ? null : Date.parse(body.expiresAt),
    });
    return c.json({ apiKey: toPublicApiKey(created.apiKey), secret: created.secret }, 201);
  });

  app.openapi(listKeys, async (c) => {
    const q = c.req.valid("query");
    const { keys, more } = await listApiKeyPage(c.env, {
      afterId: q.cursor === undefined ? null : apiKeyCursor.decode(q.cursor),
      limit: q.limit,
      includeRevoked: q.includeRevoked,
    });
    const last = keys[keys.length - 1];
    return c.json({ data: keys.map(toPublicApiKey), nextCursor: more && last ? apiKeyCursor.encode(last.id) : null }, 200);
  });

  app.openapi(getKey, async (c) => {
    return c.json({ apiKey: toPublicApiKey(await getApiKey(c.env, c.req.valid("param").id)) }, 200);
  });

  app.openapi(revokeKey, async (c) => {
    return c.json({ apiKey: toPublicApiKey(await revokeApiKey(c.env, auditContext(c), c.req.valid("param").id)) }, 200);
  });

  app.openapi(rollKey, async (c) => {
    const rolled = await rollApiKey(
      c.env,
      auditContext(c),
      c.req.valid("param").id,
      (c.req.valid("json") as z.infer<typeof RollApiKeyInput> | undefined)?.overlapSeconds ?? 0,
    );
    return c.json({ apiKey: toPublicApiKey(rolled.apiKey), secret: rolled.secret }, 200);
  });
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toPublicApiKey(key: ApiKey) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    createdAt: new Date(key.createdAt).toISOString(),
    expiresAt: iso(key.expiresAt),
    lastUsedAt: iso(key.lastUsedAt),
    revokedAt: iso(key.revokedAt),
  };
}
