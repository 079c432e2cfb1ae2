import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { toPublicBalance } from "../domain/credits";
import { toPublicDecision } from "../domain/public-decision";
import { toPublicEvent } from "../domain/stored-event";
import { Amount, Dimensions, IdempotencyKey, Metadata, MeterKey, SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess, requireUserSubject } from "../http/auth";
import type { EntitlementSnapshot } from "../ledger/contract";
import { checkEntitlement } from "../services/check-entitlement";
import { consumeEntitlement } from "../services/consume-entitlement";
import { listEntitlements } from "../services/list-entitlements";
import { userTokenOnly, createRoute, errorResponses, EventSchema, IdempotencyHeaderSchema, json, jsonBody, requiresScope } from "./schemas";

export const EntitlementRowSchema = z
  .object({
    meter: z.string(),
    kind: z.enum(["counter", "gauge"]),
    used: z.number(),
    held: z.number().openapi({ description: "Reserved by holds still held" }),
    granted: z.number().openapi({ description: "What grants give the current window: drawn in it plus what active grants have left" }),
    limit: z.number().nullable(),
    remaining: z.number().nullable().openapi({ description: "limit − used − held + granted, never below 0; null when unlimited" }),
    enforcement: z.enum(["hard", "soft"]).nullable(),
    period: z.enum(["month", "day", "none"]),
    periodStart: z.string().nullable(),
    periodEnd: z.string().nullable(),
  })
  .openapi("EntitlementRow");

export const DecisionSchema = z
  .object({
    allowed: z.boolean(),
    used: z.number(),
    /** Set aside by live holds. */
    held: z.number(),
    /** What prepaid grants give the current period. */
    granted: z.number(),
    limit: z.number().nullable(),
    remaining: z.number().nullable(),
    overage: z.boolean(),
  })
  .openapi("Decision");

export const ConsumedSchema = DecisionSchema.extend({ status: z.enum(["created", "duplicate"]), event: EventSchema }).openapi("Consumed");

const meterParams = z.object({ subjectId: SubjectId, meter: MeterKey });
export const ConsumeInput = z
  .strictObject({
    amount: Amount.default(1),
    idempotencyKey: IdempotencyKey.optional(),
    dimensions: Dimensions.optional(),
    metadata: Metadata.optional(),
  })
  .openapi("ConsumeInput");

const listRoute = createRoute({
  method: "get",
  path: "/v1/subjects/{subjectId}/entitlements",
  tags: ["entitlements"],
  summary: "Every meter the subject uses or is entitled to",
  security: requiresScope("usage:read", { users: true }),
  request: { params: z.object({ subjectId: SubjectId }) },
  responses: { 200: json(z.object({ data: z.array(EntitlementRowSchema) }), "One row per meter"), ...errorResponses(503) },
});

const myListRoute = createRoute({
  method: "get",
  path: "/v1/me/entitlements",
  tags: ["me"],
  summary: "The token's own entitlements",
  security: userTokenOnly,
  responses: { 200: json(z.object({ data: z.array(EntitlementRowSchema) }), "One row per meter"), ...errorResponses(503) },
});

const checkRoute = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/entitlements/{meter}/check",
  tags: ["entitlements"],
  summary: "Would `amount` more be allowed? Consumes nothing",
  security: requiresScope("entitlements:write", { users: true }),
  request: { params: meterParams, ...jsonBody(z.strictObject({ amount: Amount.default(1) }).openapi("CheckInput")) },
  responses: { 200: json(DecisionSchema, "The decision now"), ...errorResponses(413, 415, 422, 503) },
});

const consumeRoute = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/entitlements/{meter}/consume",
  tags: ["entitlements"],
  summary: "Decide and record in one step",
  description:
    "Allowed: 200 and the usage is recorded (used and remaining are after it). Over a hard limit: 402 LIMIT_EXCEEDED, nothing recorded. Over a soft limit: allowed with `overage: true`. A replay of the same idempotency key answers the original decision.",
  security: requiresScope("entitlements:write"),
  request: { params: meterParams, headers: IdempotencyHeaderSchema, ...jsonBody(ConsumeInput) },
  responses: {
    200: json(ConsumedSchema, "Allowed and recorded"),
    402: json(
      z.object({
        error: z.object({ code: z.literal("LIMIT_EXCEEDED"), message: z.string(), requestId: z.string(), details: DecisionSchema }),
      }),
      "Denied; nothing recorded",
    ),
    ...errorResponses(409, 413, 415, 422, 503),
  },
});

export function registerEntitlementRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => {
    const { subjectId } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    return c.json({ data: (await listEntitlements(c.env, subjectId)).map(toEntitlementRow) }, 200);
  });

  app.openapi(myListRoute, async (c) => {
    const subjectId = requireUserSubject(c);
    return c.json({ data: (await listEntitlements(c.env, subjectId)).map(toEntitlementRow) }, 200);
  });

  app.openapi(checkRoute, async (c) => {
    const { subjectId, meter } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    const decision = await checkEntitlement(c.env, subjectId, meter, c.req.valid("json").amount);
    return c.json(toPublicDecision(decision), 200);
  });

  app.openapi(consumeRoute, async (c) => {
    const { subjectId, meter } = c.req.valid("param");
    const body = c.req.valid("json");
    const { decision, status, event } = await consumeEntitlement(c.env, {
      subjectId,
      meter,
      amount: body.amount,
      idempotencyKey: body.idempotencyKey ?? c.req.valid("header")["idempotency-key"],
      dimensions: body.dimensions ?? {},
      metadata: (body.metadata ?? {}) as never,
    });
    return c.json({ ...toPublicDecision(decision, event.amountE4), status, event: toPublicEvent(event) }, 200);
  });
}

export function toEntitlementRow(s: EntitlementSnapshot) {
  return {
    meter: s.meter,
    kind: s.kind,
    ...toPublicBalance(s),
    enforcement: s.enforcement,
    period: s.period,
    periodStart: s.periodStart === null ? null : new Date(s.periodStart).toISOString(),
    periodEnd: s.periodEnd === null ? null : new Date(s.periodEnd).toISOString(),
  };
}
