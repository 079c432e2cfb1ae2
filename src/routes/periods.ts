import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { PeriodUsageRow } from "../db/periods";
import { fromE4 } from "../domain/amount";
import { MeterKey, SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess } from "../http/auth";
import { listPeriods } from "../services/list-periods";
import { periodCursor } from "./cursor";
import { createRoute, errorResponses, json, queryParameters, requiresScope } from "./schemas";

export const PeriodSchema = z
  .object({
    subjectId: z.string(),
    meter: z.string(),
    periodStart: z.string(),
    periodEnd: z.string(),
    total: z.number(),
    eventCount: z.number().int(),
    limit: z.number().nullable(),
    endValue: z.number().optional(),
    peak: z.number().optional(),
    closedAt: z.string(),
    restatedAt: z.string().nullable(),
  })
  .openapi("PeriodUsage");

const list = createRoute({
  method: "get",
  path: "/v1/periods",
  tags: ["periods"],
  summary: "Closed-period rollups",
  description:
    "Written by the monthly rollover (and restated when a late event lands in a closed period). `from`/`to` bound the period start. A user token must pass its own subjectId.",
  security: requiresScope("usage:read", { users: true }),
  request: {
    query: queryParameters({
      subjectId: SubjectId.optional(),
      meter: MeterKey.optional(),
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(500).optional(),
    }),
  },
  responses: {
    200: json(z.object({ data: z.array(PeriodSchema), nextCursor: z.string().nullable() }), "Oldest period first"),
    ...errorResponses(),
  },
});

export function registerPeriodRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    requireSubjectAccess(c, q.subjectId);
    const after = q.cursor === undefined ? undefined : periodCursor.decode(q.cursor);
    const rows = await listPeriods(
      c.env,
      {
        subjectId: q.subjectId,
        meter: q.meter,
        from: q.from === undefined ? undefined : Date.parse(q.from),
        to: q.to === undefined ? undefined : Date.parse(q.to),
      },
      q.limit + 1,
      after,
    );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > q.limit && last ? periodCursor.encode(last) : null;
    return c.json({ data: page.map(toPublic), nextCursor }, 200);
  });
}

function toPublic(row: PeriodUsageRow) {
  return {
    subjectId: row.subjectId,
    meter: row.meter,
    periodStart: new Date(row.periodStart).toISOString(),
    periodEnd: new Date(row.periodEnd).toISOString(),
    total: fromE4(row.totalE4),
    eventCount: row.eventCount,
    limit: row.limitE4 === null ? null : fromE4(row.limitE4),
    ...(row.endValueE4 === null ? {} : { endValue: fromE4(row.endValueE4) }),
    ...(row.peakE4 === null ? {} : { peak: fromE4(row.peakE4) }),
    closedAt: new Date(row.closedAt).toISOString(),
    restatedAt: row.restatedAt === null ? null : new Date(row.restatedAt).toISOString(),
  };
}
