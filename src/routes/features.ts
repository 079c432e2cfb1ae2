import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { JsonValue } from "../domain/stored-event";
import { SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess, requireUserSubject } from "../http/auth";
import { listFeatures } from "../services/list-features";
import { userTokenOnly, createRoute, errorResponses, json, requiresScope } from "./schemas";

/** Any JSON value, null included; what a feature may hold is checked where it is written. */
const JsonValueSchema = z
  .custom<JsonValue>((value) => value !== undefined)
  .openapi({ type: ["string", "number", "boolean", "object", "array", "null"], description: "Any JSON value, null included" });

export const FeatureValuesSchema = z.record(z.string(), JsonValueSchema);

export const FeatureRowSchema = z
  .object({
    key: z.string(),
    value: JsonValueSchema,
    source: z.enum(["plan", "override"]).openapi({ description: "`override` when the subject's own value replaces the plan's" }),
  })
  .openapi("FeatureRow");

const FeatureListSchema = z.object({ data: z.array(FeatureRowSchema) });
const description =
  "The plan's features with the subject's `featureOverrides` laid over them, sorted by key. A subject without settings has none (an empty list, not 404).";

const listRoute = createRoute({
  method: "get",
  path: "/v1/subjects/{subjectId}/features",
  tags: ["features"],
  summary: "The subject's features and where each comes from",
  description,
  security: requiresScope("usage:read", { users: true }),
  request: { params: z.object({ subjectId: SubjectId }) },
  responses: { 200: json(FeatureListSchema, "One row per feature"), ...errorResponses() },
});

const myListRoute = createRoute({
  method: "get",
  path: "/v1/me/features",
  tags: ["me"],
  summary: "The token's own features",
  description,
  security: userTokenOnly,
  responses: { 200: json(FeatureListSchema, "One row per feature"), ...errorResponses() },
});

export function registerFeatureRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => {
    const { subjectId } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    return c.json({ data: await listFeatures(c.env, subjectId) }, 200);
  });

  app.openapi(myListRoute, async (c) => {
    const subjectId = requireUserSubject(c);
    return c.json({ data: await listFeatures(c.env, subjectId) }, 200);
  });
}
