import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { drizzle } from "drizzle-orm/d1";
import { meterCatalog } from "../db/meters";
import { findPlan, findSubject, upsertSubject, type Subject } from "../db/plans";
import { DomainError } from "../domain/errors";
import { EntitlementOverride, SubjectInput } from "../domain/entitlements";
import { SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireService, requireSubjectAccess } from "../http/auth";
import { ledgerFor } from "../ledger/record-usage";
import { pushSubject } from "../ledger/subject-config";
import { bearerAuth, createRoute, errorResponses, json, jsonBody } from "./schemas";

export const SubjectSchema = z
  .object({
    subjectId: z.string(),
    planId: z.string().nullable(),
    billingAnchorDay: z.number().int().nullable(),
    overrides: z.record(z.string(), EntitlementOverride.openapi("EntitlementOverride")),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Subject");

const params = z.object({ subjectId: SubjectId });

const putSubject = createRoute({
  method: "put",
  path: "/v1/subjects/{subjectId}",
  tags: ["subjects"],
  summary: "Assign a plan, billing anchor day and overrides",
  description:
    "Fields left out keep their value. `billingAnchorDay` 1–31 starts monthly periods on that day (clamped to the month's end); null means calendar months (UTC). `overrides` replaces the subject's per-meter overrides. Takes effect at the subject's next call.",
  security: bearerAuth,
  request: { params, ...jsonBody(SubjectInput.openapi("SubjectInput")) },
  responses: {
    201: json(z.object({ subject: SubjectSchema }), "Created"),
    200: json(z.object({ subject: SubjectSchema }), "Updated"),
    ...errorResponses(404, 413, 415, 503),
  },
});

const getSubject = createRoute({
  method: "get",
  path: "/v1/subjects/{subjectId}",
  tags: ["subjects"],
  summary: "Read a subject's settings",
  security: bearerAuth,
  request: { params },
  responses: { 200: json(z.object({ subject: SubjectSchema }), "The subject"), ...errorResponses(404) },
});

const recalculate = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/recalculate",
  tags: ["subjects"],
  summary: "Rebuild current-period counters from history",
  description:
    "Flushes the ledger's pending events, then sets each current-period counter and gauge level to what D1 history says. Safe to repeat.",
  security: bearerAuth,
  request: { params },
  responses: {
    200: json(
      z.object({
        subjectId: z.string(),
        meters: z.array(z.object({ meter: z.string(), periodStart: z.string(), before: z.number(), after: z.number() })),
      }),
      "What changed",
    ),
    ...errorResponses(503),
  },
});

export function registerSubjectRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putSubject, async (c) => {
    requireService(c);
    const { subjectId } = c.req.valid("param");
    const input = c.req.valid("json");
    const db = drizzle(c.env.DB);
    const existing = await findSubject(db, subjectId);
    const planId = input.planId === undefined ? (existing?.planId ?? null) : input.planId;
    if (planId !== null && !(await findPlan(db, planId))) {
      throw new DomainError("NOT_FOUND", `No plan '${planId}'. Define it with PUT /v1/plans/{planId} first.`);
    }
    const now = Date.now();
    const subject = await upsertSubject(
      db,
      {
        id: subjectId,
        planId,
        billingAnchorDay: input.billingAnchorDay === undefined ? (existing?.billingAnchorDay ?? null) : input.billingAnchorDay,
        overrides: input.overrides ?? existing?.overrides ?? {},
        updatedAt: Math.max(now, (existing?.updatedAt ?? 0) + 1),
      },
      now,
    );
    await pushSubject(c.env, db, subject);
    return c.json({ subject: toPublicSubject(subject) }, existing ? 200 : 201);
  });

  app.openapi(getSubject, async (c) => {
    const { subjectId } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    const subject = await findSubject(drizzle(c.env.DB), subjectId);
    if (!subject) throw new DomainError("NOT_FOUND", "No settings for this subject (it uses no plan).");
    return c.json({ subject: toPublicSubject(subject) }, 200);
  });

  app.openapi(recalculate, async (c) => {
    requireService(c);
    const { subjectId } = c.req.valid("param");
    const meters = await meterCatalog(drizzle(c.env.DB), [], Date.now());
    const kinds = Object.fromEntries([...meters.values()].map((m) => [m.key, m.kind]));
    const summary = await ledgerFor(c.env, subjectId).recalculate(subjectId, kinds);
    return c.json(
      {
        subjectId,
        meters: summary.meters.map((m) => ({
          meter: m.meter,
          periodStart: new Date(m.periodStart).toISOString(),
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
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}
