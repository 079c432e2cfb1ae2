import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { drizzle } from "drizzle-orm/d1";
import { meterCatalog } from "../db/meters";
import { fromE4 } from "../domain/amount";
import type { Decision } from "../domain/entitlements";
import { DomainError } from "../domain/errors";
import type { MeterKind } from "../domain/event-rules";
import { toPublicEvent } from "../domain/stored-event";
import { Amount, Dimensions, IdempotencyKey, Metadata, MeterKey, SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { log } from "../http/log";
import { requireService, requireSubjectAccess } from "../http/auth";
import type { EntitlementSnapshot } from "../ledger/contract";
import { ledgerFor, ledgerUnavailable, prepareEvents } from "../ledger/record-usage";
import { bearerAuth, createRoute, errorResponses, EventSchema, IdempotencyHeaderSchema, json, jsonBody } from "./schemas";

export const EntitlementRowSchema = z
  .object({
    meter: z.string(),
    kind: z.enum(["counter", "gauge"]),
    used: z.number(),
    limit: z.number().nullable(),
    remaining: z.number().nullable(),
    enforcement: z.enum(["hard", "soft"]).nullable(),
    period: z.enum(["month", "day", "none"]),
    periodStart: z.string().nullable(),
    periodEnd: z.string().nullable(),
  })
  .openapi("EntitlementRow");

export const DecisionSchema = z
  .object({ allowed: z.boolean(), used: z.number(), limit: z.number().nullable(), remaining: z.number().nullable(), overage: z.boolean() })
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
  security: bearerAuth,
  request: { params: z.object({ subjectId: SubjectId }) },
  responses: { 200: json(z.object({ data: z.array(EntitlementRowSchema) }), "One row per meter"), ...errorResponses(503) },
});

const myListRoute = createRoute({
  method: "get",
  path: "/v1/me/entitlements",
  tags: ["me"],
  summary: "The token's own entitlements",
  security: bearerAuth,
  responses: { 200: json(z.object({ data: z.array(EntitlementRowSchema) }), "One row per meter"), ...errorResponses(503) },
});

const checkRoute = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/entitlements/{meter}/check",
  tags: ["entitlements"],
  summary: "Would `amount` more be allowed? Consumes nothing",
  security: bearerAuth,
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
  security: bearerAuth,
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
    return c.json({ data: await entitlementRows(c, subjectId) }, 200);
  });

  app.openapi(myListRoute, async (c) => {
    const principal = c.get("principal");
    if (principal.kind !== "user") throw new DomainError("FORBIDDEN", "/v1/me needs a user token.");
    return c.json({ data: await entitlementRows(c, principal.subjectId) }, 200);
  });

  app.openapi(checkRoute, async (c) => {
    const { subjectId, meter } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    const kind = await meterKind(c, meter);
    const amountE4 = Math.round(c.req.valid("json").amount * 10_000);
    const snapshot = await callLedger(() => ledgerFor(c.env, subjectId).check(subjectId, meter, kind, amountE4));
    return c.json(publicDecision(snapshot.decision), 200);
  });

  app.openapi(consumeRoute, async (c) => {
    requireService(c);
    const { subjectId, meter } = c.req.valid("param");
    const body = c.req.valid("json");
    const idempotencyKey = body.idempotencyKey ?? c.req.valid("header")["idempotency-key"];
    const draft = {
      subjectId,
      meter,
      amount: body.amount,
      idempotencyKey,
      dimensions: body.dimensions ?? {},
      metadata: (body.metadata ?? {}) as never,
    };
    const [prepared] = await prepareEvents(c.env, [draft], "consume", Date.now());
    if (!prepared!.ok) throw new DomainError(prepared!.rejection.error.code, prepared!.rejection.error.message);
    const outcome = await callLedger(() => ledgerFor(c.env, subjectId).consume(subjectId, prepared!.input));
    if (outcome.status === "denied") {
      throw new DomainError(
        "LIMIT_EXCEEDED",
        `Consuming ${body.amount} of '${meter}' would pass the hard limit.`,
        publicDecision(outcome.decision),
      );
    }
    if (outcome.status === "conflict" || !outcome.decision) {
      throw new DomainError("IDEMPOTENCY_CONFLICT", `idempotencyKey was already used for a different event (${outcome.event.id}).`);
    }
    const decision = publicDecision(outcome.decision, outcome.event.amountE4);
    return c.json({ ...decision, status: outcome.status, event: toPublicEvent(outcome.event) }, 200);
  });
}

async function entitlementRows(c: Context<AppEnv>, subjectId: string) {
  const meters = await meterCatalog(drizzle(c.env.DB), [], Date.now());
  const kinds = Object.fromEntries([...meters.values()].map((m) => [m.key, m.kind]));
  const rows = await callLedger(() => ledgerFor(c.env, subjectId).entitlements(subjectId, kinds));
  return rows.map(toEntitlementRow);
}

export function toEntitlementRow(s: EntitlementSnapshot) {
  const bounded = s.period !== "none";
  return {
    meter: s.meter,
    kind: s.kind,
    used: fromE4(s.usedE4),
    limit: s.limitE4 === null ? null : fromE4(s.limitE4),
    remaining: s.remainingE4 === null ? null : fromE4(s.remainingE4),
    enforcement: s.enforcement,
    period: s.period,
    periodStart: bounded ? new Date(s.periodStart).toISOString() : null,
    periodEnd: bounded ? new Date(s.periodEnd).toISOString() : null,
  };
}

/** `consumedE4` turns the decision (taken before) into the balance after the consumption. */
function publicDecision(d: Decision, consumedE4 = 0) {
  const used = d.usedE4 + consumedE4;
  return {
    allowed: d.allowed,
    used: fromE4(used),
    limit: d.limitE4 === null ? null : fromE4(d.limitE4),
    remaining: d.limitE4 === null ? null : fromE4(Math.max(0, d.limitE4 - used)),
    overage: d.overage,
  };
}

export async function meterKind(c: Context<AppEnv>, meter: string): Promise<MeterKind> {
  const known = (await meterCatalog(drizzle(c.env.DB), [meter], Date.now())).get(meter);
  if (!known) throw new DomainError("UNKNOWN_METER", `Meter '${meter}' is not defined.`);
  return known.kind;
}

export async function callLedger<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    log("error", "ledger.call_failed", { error: String(cause) });
    const { error } = ledgerUnavailable(0);
    throw new DomainError(error.code, error.message);
  }
}
