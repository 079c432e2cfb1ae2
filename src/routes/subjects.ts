import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Subject } from "../db/plans";
import { EntitlementOverride, SubjectInput } from "../domain/entitlements";
import { SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { auditContext, requireSubjectAccess } from "../http/auth";
import { getSubject } from "../services/get-subject";
import { listSubjects } from "../services/list-subjects";
import { putSubject } from "../services/put-subject";
import { recalculateSubject } from "../services/recalculate-subject";
import { subjectCursor } from "./cursor";
import { FeatureValuesSchema } from "./features";
import { PlanId } from "./plans";
import { configurationNotPushed, createRoute, errorResponses, json, jsonBody, PageQuery, queryParameters, requiresScope } from "./schemas";

export const SubjectSchema = z
  .object({
    subjectId: z.string(),
    planId: z.string().nullable(),
    billingAnchorDay: z.number().int().nullable(),
    overrides: z.record(z.string(), EntitlementOverride.openapi("EntitlementOverride")),
    featureOverrides: FeatureValuesSchema,
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Subject");

export const RecalculatedSchema = z.object({
  subjectId: z.string(),
  meters: z.array(z.object({ meter: z.string(), periodStart: z.string().nullable(), before: z.number(), after: z.number() })),
});

const params = z.object({ subjectId: SubjectId });

const putSubjectRoute = createRoute({
  method: "put",
  path: "/v1/subjects/{subjectId}",
  tags: ["subjects"],
  summary: "Assign a plan, billing anchor day and overrides",
  description:
    "Fields left out keep their value. `billingAnchorDay` 1–31 starts monthly periods on that day (clamped to the month's end); null means calendar months (UTC). `overrides` replaces the subject's per-meter overrides; one naming a meter that is not defined is 422 UNKNOWN_METER, an archived one 422 METER_ARCHIVED, and nothing is written. `featureOverrides` replaces the subject's feature values (same rules as a plan's `features`); each replaces the plan's value for its key, `null` included; leave a key out to use the plan's value again. A `planId` that names no plan is 404 and nothing is written. Takes effect at the subject's next call. 503 LEDGER_UNAVAILABLE: saved, but the subject's ledger did not take it; retrying the same PUT pushes it again.",
  security: requiresScope("admin"),
  request: { params, ...jsonBody(SubjectInput.openapi("SubjectInput")) },
  responses: {
    201: json(z.object({ subject: SubjectSchema }), "Created"),
    200: json(z.object({ subject: SubjectSchema }), "Updated"),
    ...errorResponses(404, 413, 415, 422),
    ...configurationNotPushed,
  },
});

const getSubjectRoute = createRoute({
  method: "get",
  path: "/v1/subjects/{subjectId}",
  tags: ["subjects"],
  summary: "Read a subject's settings",
  security: requiresScope("usage:read", { users: true }),
  request: { params },
  responses: { 200: json(z.object({ subject: SubjectSchema }), "The subject"), ...errorResponses(404) },
});

const listSubjectsRoute = createRoute({
  method: "get",
  path: "/v1/subjects",
  tags: ["subjects"],
  summary: "List subjects with settings, in id order",
  description:
    "`planId`: only the subjects on that plan. `prefix`: only ids that start with it, taken literally (`%`, `_` and quotes are characters, not patterns). Both are checked as the ids they match: a prefix no id could start with is 400.",
  security: requiresScope("admin"),
  request: {
    query: queryParameters({
      planId: PlanId.optional(),
      prefix: SubjectId.optional().openapi({ description: "A literal start of the subject id" }),
      ...PageQuery,
    }),
  },
  responses: {
    200: json(z.object({ data: z.array(SubjectSchema), nextCursor: z.string().nullable() }), "One page"),
    ...errorResponses(),
  },
});

const recalculateRoute = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/recalculate",
  tags: ["subjects"],
  summary: "Rebuild current-period counters from history",
  description:
    "Flushes the ledger's pending events, then sets each current-period counter and gauge level to what D1 history says. Safe to repeat.",
  security: requiresScope("admin"),
  request: { params },
  responses: {
    200: json(RecalculatedSchema, "What changed"),
    ...errorResponses(503),
  },
});

export function registerSubjectRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putSubjectRoute, async (c) => {
    const { subject, created } = await putSubject(c.env, auditContext(c), c.req.valid("param").subjectId, c.req.valid("json"));
    return c.json({ subject: toPublicSubject(subject) }, created ? 201 : 200);
  });

  app.openapi(listSubjectsRoute, async (c) => {
    const { planId, prefix, limit, cursor } = c.req.valid("query");
    const { rows, more } = await listSubjects(c.env, {
      planId: planId ?? null,
      prefix: prefix ?? null,
      afterId: cursor === undefined ? null : subjectCursor.decode(cursor),
      limit,
    });
    const last = rows[rows.length - 1];
    return c.json({ data: rows.map(toPublicSubject), nextCursor: more && last ? subjectCursor.encode(last.id) : null }, 200);
  });

  app.openapi(getSubjectRoute, async (c) => {
    const { subjectId } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    return c.json({ subject: toPublicSubject(await getSubject(c.env, subjectId)) }, 200);
  });

  app.openapi(recalculateRoute, async (c) => {
    const { subjectId } = c.req.valid("param");
    const summary = await recalculateSubject(c.env, auditContext(c), subjectId);
    return c.json(
      {
        subjectId,
        meters: summary.meters.map((m) => ({
          meter: m.meter,
          periodStart: m.periodStart === null ? null : new Date(m.periodStart).toISOString(),
          before: m.beforeE4 / 10_000,
          after: m.afterE4 / 10_000,
        })),
      },
      200,
    );
  });
}

function toPublicSubject(s: Subject) {
  return {
    subjectId: s.id,
    planId: s.planId,
    billingAnchorDay: s.billingAnchorDay,
    overrides: s.overrides,
    featureOverrides: s.featureOverrides,
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}
