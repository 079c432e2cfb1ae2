import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Plan } from "../db/plans";
import { EntitlementInput, PlanInput } from "../domain/entitlements";
import type { AppEnv } from "../http/app-env";
import { getPlan } from "../services/get-plan";
import { putPlan } from "../services/put-plan";
import { FeatureValuesSchema } from "./features";
import { configurationNotPushed, createRoute, errorResponses, json, jsonBody, requiresScope } from "./schemas";

const PlanId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, "letters, digits, '_', '.', ':', '-'");

export const PlanSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    entitlements: z.record(z.string(), EntitlementInput.openapi("Entitlement")),
    features: FeatureValuesSchema,
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Plan");

const putPlanRoute = createRoute({
  method: "put",
  path: "/v1/plans/{planId}",
  tags: ["plans"],
  summary: "Define or replace a plan",
  description:
    "Entitlements per meter: `limit` (null = unlimited), `period` (month | day | none), `enforcement` (hard | soft), `thresholds` in percent (default 80 and 100). `features`: key → any JSON value (flags, numbers, strings, objects; at most 100, each at most 4 KB as JSON and 10 levels deep); left out, the plan has none. Every subject on the plan uses the new version from its next call. A meter that is not defined is 422 UNKNOWN_METER (`details.meters` names them) and nothing is written. 503 LEDGER_UNAVAILABLE: the plan is saved but some subjects' ledgers did not take it (`details.subjectIds`); retrying the same PUT pushes it again.",
  security: requiresScope("admin"),
  request: { params: z.object({ planId: PlanId }), ...jsonBody(PlanInput.openapi("PlanInput")) },
  responses: {
    201: json(z.object({ plan: PlanSchema }), "Created"),
    200: json(z.object({ plan: PlanSchema }), "Replaced"),
    ...errorResponses(413, 415, 422),
    ...configurationNotPushed,
  },
});

const getPlanRoute = createRoute({
  method: "get",
  path: "/v1/plans/{planId}",
  tags: ["plans"],
  summary: "Read a plan",
  security: requiresScope("admin"),
  request: { params: z.object({ planId: PlanId }) },
  responses: { 200: json(z.object({ plan: PlanSchema }), "The plan"), ...errorResponses(404) },
});

export function registerPlanRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putPlanRoute, async (c) => {
    const { plan, created } = await putPlan(c.env, c.req.valid("param").planId, c.req.valid("json"));
    return c.json({ plan: toPublicPlan(plan) }, created ? 201 : 200);
  });

  app.openapi(getPlanRoute, async (c) => {
    const plan = await getPlan(c.env, c.req.valid("param").planId);
    return c.json({ plan: toPublicPlan(plan) }, 200);
  });
}

function toPublicPlan(plan: Plan) {
  return {
    id: plan.id,
    name: plan.name,
    entitlements: plan.entitlements,
    features: plan.features,
    createdAt: new Date(plan.createdAt).toISOString(),
    updatedAt: new Date(plan.updatedAt).toISOString(),
  };
}
