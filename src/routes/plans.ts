import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Plan } from "../db/plans";
import { EntitlementInput, PlanInput } from "../domain/entitlements";
import type { AppEnv } from "../http/app-env";
import { auditContext } from "../http/auth";
import { deletePlan } from "../services/delete-plan";
import { getPlan } from "../services/get-plan";
import { listPlans } from "../services/list-plans";
import { putPlan } from "../services/put-plan";
import { planCursor } from "./cursor";
import { FeatureValuesSchema } from "./features";
import { configurationNotPushed, createRoute, errorResponses, json, jsonBody, PageQuery, queryParameters, requiresScope } from "./schemas";

export const PlanId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, "letters, digits, '_', '.', ':', '-'");

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
    "Entitlements per meter: `limit` (null = unlimited), `period` (month | day | none), `enforcement` (hard | soft), `thresholds` in percent (default 80 and 100). `features`: key → any JSON value (flags, numbers, strings, objects; at most 100, each at most 4 KB as JSON and 10 levels deep); left out, the plan has none. Every subject on the plan uses the new version from its next call. A meter that is not defined is 422 UNKNOWN_METER, an archived one 422 METER_ARCHIVED (`details.meters` names them), and nothing is written. 503 LEDGER_UNAVAILABLE: the plan is saved but some subjects' ledgers did not take it (`details.subjectIds`); retrying the same PUT pushes it again.",
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

const listPlansRoute = createRoute({
  method: "get",
  path: "/v1/plans",
  tags: ["plans"],
  summary: "List plans, in id order",
  security: requiresScope("admin"),
  request: { query: queryParameters(PageQuery) },
  responses: { 200: json(z.object({ data: z.array(PlanSchema), nextCursor: z.string().nullable() }), "One page"), ...errorResponses() },
});

const deletePlanRoute = createRoute({
  method: "delete",
  path: "/v1/plans/{planId}",
  tags: ["plans"],
  summary: "Delete a plan no subject is on",
  description:
    "Answers the deleted plan. 409 PLAN_IN_USE while any subject has it (`details.subjectIds` names the first 100); move them to another plan first. A subject PUT naming the plan at the same time either lands first (and the delete is 409) or is 404 as for an unknown plan.",
  security: requiresScope("admin"),
  request: { params: z.object({ planId: PlanId }) },
  responses: { 200: json(z.object({ plan: PlanSchema }), "Deleted"), ...errorResponses(404, 409) },
});

export function registerPlanRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putPlanRoute, async (c) => {
    const { plan, created } = await putPlan(c.env, auditContext(c), c.req.valid("param").planId, c.req.valid("json"));
    return c.json({ plan: toPublicPlan(plan) }, created ? 201 : 200);
  });

  app.openapi(getPlanRoute, async (c) => {
    const plan = await getPlan(c.env, c.req.valid("param").planId);
    return c.json({ plan: toPublicPlan(plan) }, 200);
  });

  app.openapi(listPlansRoute, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const { rows, more } = await listPlans(c.env, cursor === undefined ? null : planCursor.decode(cursor), limit);
    const last = rows[rows.length - 1];
    return c.json({ data: rows.map(toPublicPlan), nextCursor: more && last ? planCursor.encode(last.id) : null }, 200);
  });

  app.openapi(deletePlanRoute, async (c) => {
    return c.json({ plan: toPublicPlan(await deletePlan(c.env, auditContext(c), c.req.valid("param").planId)) }, 200);
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
