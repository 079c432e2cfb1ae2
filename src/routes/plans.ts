import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { drizzle } from "drizzle-orm/d1";
import { findPlan, upsertPlan, type Plan } from "../db/plans";
import { DomainError } from "../domain/errors";
import { EntitlementInput, PlanInput } from "../domain/entitlements";
import type { AppEnv } from "../http/app-env";
import { requireService } from "../http/auth";
import { pushPlan } from "../ledger/subject-config";
import { bearerAuth, createRoute, errorResponses, json, jsonBody } from "./schemas";

const PlanId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, "letters, digits, '_', '.', ':', '-'");

export const PlanSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    entitlements: z.record(z.string(), EntitlementInput.openapi("Entitlement")),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Plan");

const putPlan = createRoute({
  method: "put",
  path: "/v1/plans/{planId}",
  tags: ["plans"],
  summary: "Define or replace a plan",
  description:
    "Entitlements per meter: `limit` (null = unlimited), `period` (month | day | none), `enforcement` (hard | soft), `thresholds` in percent (default 80 and 100). Every subject on the plan uses the new version from its next call.",
  security: bearerAuth,
  request: { params: z.object({ planId: PlanId }), ...jsonBody(PlanInput.openapi("PlanInput")) },
  responses: {
    201: json(z.object({ plan: PlanSchema }), "Created"),
    200: json(z.object({ plan: PlanSchema }), "Replaced"),
    ...errorResponses(413, 415),
  },
});

const getPlan = createRoute({
  method: "get",
  path: "/v1/plans/{planId}",
  tags: ["plans"],
  summary: "Read a plan",
  security: bearerAuth,
  request: { params: z.object({ planId: PlanId }) },
  responses: { 200: json(z.object({ plan: PlanSchema }), "The plan"), ...errorResponses(404) },
});

export function registerPlanRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putPlan, async (c) => {
    requireService(c);
    const { planId } = c.req.valid("param");
    const input = c.req.valid("json");
    const db = drizzle(c.env.DB);
    const existed = await findPlan(db, planId);
    const now = Date.now();
    // A version never goes backwards, even if clocks do: ledgers keep the highest one they saw.
    const version = Math.max(now, (existed?.updatedAt ?? 0) + 1);
    const plan = await upsertPlan(db, { id: planId, name: input.name ?? null, entitlements: input.entitlements, updatedAt: version }, now);
    await pushPlan(c.env, db, plan);
    return c.json({ plan: toPublicPlan(plan) }, existed ? 200 : 201);
  });

  app.openapi(getPlan, async (c) => {
    requireService(c);
    const plan = await findPlan(drizzle(c.env.DB), c.req.valid("param").planId);
    if (!plan) throw new DomainError("NOT_FOUND", "No such plan.");
    return c.json({ plan: toPublicPlan(plan) }, 200);
  });
}

function toPublicPlan(plan: Plan) {
  return {
    id: plan.id,
    name: plan.name,
    entitlements: plan.entitlements,
    createdAt: new Date(plan.createdAt).toISOString(),
    updatedAt: new Date(plan.updatedAt).toISOString(),
  };
}
