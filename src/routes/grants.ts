import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { GrantInstant, PositiveAmount } from "../domain/credits";
import { DEFAULT_GRANT_PRIORITY } from "../domain/entitlements";
import { IdempotencyKey, Metadata, MeterKey, SubjectId } from "../domain/usage-event";
import { wellFormedString } from "../domain/well-formed";
import type { AppEnv } from "../http/app-env";
import { auditContext, requireSubjectAccess } from "../http/auth";
import { createGrant } from "../services/create-grant";
import { listGrants } from "../services/list-grants";
import { voidGrant } from "../services/void-grant";
import { GrantSchema, toPublicGrant } from "./credit-views";
import { createRoute, errorResponses, IdempotencyHeaderSchema, json, jsonBody, queryParameters, requiresScope } from "./schemas";

const subjectParams = z.object({ subjectId: SubjectId });

export const CreateGrantInput = z
  .strictObject({
    meter: MeterKey,
    amount: PositiveAmount,
    effectiveAt: GrantInstant.optional().openapi({ type: "string", format: "date-time", description: "Default: now" }),
    expiresAt: GrantInstant.nullable()
      .optional()
      .openapi({ type: ["string", "null"], format: "date-time", description: "Default (or null): never" }),
    priority: z.number().int().min(0).max(1000).default(DEFAULT_GRANT_PRIORITY).openapi({ description: "Lower is drawn first" }),
    idempotencyKey: IdempotencyKey.optional(),
    metadata: Metadata.optional(),
  })
  .superRefine((grant, ctx) => {
    if (grant.expiresAt == null) return;
    if (grant.expiresAt <= Date.now()) ctx.addIssue({ code: "custom", path: ["expiresAt"], message: "must be in the future" });
    if (grant.effectiveAt !== undefined && grant.expiresAt <= grant.effectiveAt) {
      ctx.addIssue({ code: "custom", path: ["expiresAt"], message: "must be after effectiveAt" });
    }
  })
  .openapi("GrantInput");

export const GrantListSchema = z.object({ data: z.array(GrantSchema), nextCursor: z.null() }).openapi("GrantList");
export const VoidedGrantSchema = z.object({ grant: GrantSchema, status: z.enum(["voided", "already_voided"]) });

const createRouteDef = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/grants",
  tags: ["grants"],
  summary: "Give prepaid credit on a counter",
  description: `Adds \`amount\` to what the subject may use of \`meter\` (a counter) from \`effectiveAt\` until \`expiresAt\`. Usage draws the period allowance first, then grants: lower \`priority\` first (default ${DEFAULT_GRANT_PRIORITY}), then the earliest \`expiresAt\` (grants that never expire last), then the oldest. Each event's \`grantDraws\` says which grants it drew on. Expired and voided grants add nothing. 201 with the grant; a replay of the same idempotency key is 200 with the same grant, the same key with another body 409.`,
  security: requiresScope("entitlements:write"),
  request: { params: subjectParams, headers: IdempotencyHeaderSchema, ...jsonBody(CreateGrantInput) },
  responses: {
    201: json(z.object({ grant: GrantSchema }), "Granted"),
    200: json(z.object({ grant: GrantSchema }), "Replay: the grant the key made"),
    ...errorResponses(409, 413, 415, 422, 503),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/subjects/{subjectId}/grants",
  tags: ["grants"],
  summary: "The subject's grants",
  description:
    "Active and scheduled grants; `includeInactive=true` adds expired, used-up and voided ones. One page: `nextCursor` is always null.",
  security: requiresScope("usage:read", { users: true }),
  request: {
    params: subjectParams,
    query: queryParameters({
      meter: MeterKey.optional(),
      includeInactive: z
        .enum(["true", "false"])
        .optional()
        .transform((v) => v === "true")
        .openapi({ type: "string", enum: ["true", "false"], description: "Include expired, depleted and voided grants (default false)" }),
    }),
  },
  responses: {
    200: json(GrantListSchema, "Every matching grant"),
    ...errorResponses(503),
  },
});

const voidRoute = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/grants/{grantId}/void",
  tags: ["grants"],
  summary: "Take back what is left of a grant",
  description: "What was drawn stays drawn; nothing more is drawn from it. Voiding again answers the same grant.",
  security: requiresScope("entitlements:write"),
  request: { params: z.object({ subjectId: SubjectId, grantId: wellFormedString().min(1).max(100) }) },
  responses: {
    200: json(VoidedGrantSchema, "Voided"),
    ...errorResponses(404, 503),
  },
});

export function registerGrantRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createRouteDef, async (c) => {
    const { subjectId } = c.req.valid("param");
    const body = c.req.valid("json");
    const { status, grant } = await createGrant(c.env, auditContext(c), {
      subjectId,
      meter: body.meter,
      amount: body.amount,
      priority: body.priority,
      effectiveAt: body.effectiveAt,
      expiresAt: body.expiresAt ?? null,
      idempotencyKey: body.idempotencyKey ?? c.req.valid("header")["idempotency-key"],
      metadata: (body.metadata ?? {}) as never,
    });
    return c.json({ grant: toPublicGrant(grant, Date.now()) }, status === "created" ? 201 : 200);
  });

  app.openapi(listRoute, async (c) => {
    const { subjectId } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    const { meter, includeInactive } = c.req.valid("query");
    const grants = await listGrants(c.env, subjectId, { meter: meter ?? null, includeInactive });
    const now = Date.now();
    return c.json({ data: grants.map((g) => toPublicGrant(g, now)), nextCursor: null }, 200);
  });

  app.openapi(voidRoute, async (c) => {
    const { subjectId, grantId } = c.req.valid("param");
    const { status, grant } = await voidGrant(c.env, auditContext(c), subjectId, grantId);
    return c.json({ grant: toPublicGrant(grant, Date.now()), status }, 200);
  });
}
