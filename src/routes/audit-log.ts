import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AuditEntry } from "../db/audit-log";
import { wellFormedString } from "../domain/well-formed";
import type { AppEnv } from "../http/app-env";
import { listAuditLog } from "../services/list-audit-log";
import { auditLogCursor } from "./cursor";
import { createRoute, errorResponses, json, PageQuery, queryParameters, requiresScope } from "./schemas";

const Text = wellFormedString().min(1).max(300);

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string().openapi({ format: "date-time" }),
    actor: z.object({ type: z.enum(["root", "api_key"]), id: z.string().nullable() }),
    action: z.string().openapi({ example: "plan.put" }),
    target: z.object({ type: z.string(), id: z.string() }),
    before: z.unknown().openapi({ description: "The resource before the change (null when it did not exist); secrets are never kept" }),
    after: z.unknown().openapi({ description: "The resource after the change (null when it was removed)" }),
    requestId: z.string().nullable(),
  })
  .openapi("AuditEntry");

const list = createRoute({
  method: "get",
  path: "/v1/audit-log",
  tags: ["audit"],
  summary: "Who changed what, newest first",
  description:
    "One entry per configuration write: meters, plans, subjects (features and overrides included), grants, voids and amends, API keys, webhook endpoints, fax registrations, dead-letter replays and dismissals, recalculations. `from` is inclusive, `to` exclusive.",
  security: requiresScope("admin"),
  request: {
    query: queryParameters({
      action: Text.optional(),
      actorType: z.enum(["root", "api_key"]).optional(),
      actorId: Text.optional(),
      targetType: Text.optional(),
      targetId: Text.optional(),
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      ...PageQuery,
    }),
  },
  responses: {
    200: json(z.object({ data: z.array(AuditEntrySchema), nextCursor: z.string().nullable() }), "One page"),
    ...errorResponses(),
  },
});

export function registerAuditLogRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { entries, nextSeq } = await listAuditLog(c.env, {
      action: q.action,
      actorType: q.actorType,
      actorId: q.actorId,
      targetType: q.targetType,
      targetId: q.targetId,
      from: q.from === undefined ? undefined : Date.parse(q.from),
      to: q.to === undefined ? undefined : Date.parse(q.to),
      beforeSeq: q.cursor === undefined ? null : auditLogCursor.decode(q.cursor),
      limit: q.limit,
    });
    return c.json({ data: entries.map(toPublicEntry), nextCursor: nextSeq === null ? null : auditLogCursor.encode(nextSeq) }, 200);
  });
}

function toPublicEntry(entry: AuditEntry) {
  return {
    id: entry.id,
    at: new Date(entry.at).toISOString(),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    before: entry.before,
    after: entry.after,
    requestId: entry.requestId,
  };
}
