import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { LEDGER_NOTIFICATION_TYPES } from "../domain/notifications";
import { SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess } from "../http/auth";
import { listNotifications } from "../services/list-notifications";
import { notificationCursor } from "./cursor";
import { createRoute, errorResponses, json, queryParameters, requiresScope } from "./schemas";

export const NotificationSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    subjectId: z.string(),
    meter: z.string().nullable(),
    payload: z.unknown(),
    createdAt: z.string(),
  })
  .openapi("Notification");

const list = createRoute({
  method: "get",
  path: "/v1/notifications",
  tags: ["notifications"],
  summary: "Recent threshold, limit and period notifications, newest first",
  description: "What ledgers wrote (and what subscribed endpoints are sent). A user token must pass its own subjectId.",
  security: requiresScope("usage:read", { users: true }),
  request: {
    query: queryParameters({
      subjectId: SubjectId.optional(),
      type: z.enum(LEDGER_NOTIFICATION_TYPES).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().max(500).optional(),
    }),
  },
  responses: {
    200: json(z.object({ data: z.array(NotificationSchema), nextCursor: z.string().nullable() }), "One page"),
    ...errorResponses(),
  },
});

export function registerNotificationRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    requireSubjectAccess(c, q.subjectId);
    const before = q.cursor === undefined ? undefined : notificationCursor.decode(q.cursor);
    const rows = await listNotifications(c.env, { subjectId: q.subjectId, type: q.type }, q.limit + 1, before);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return c.json(
      {
        data: page.map((n) => ({
          id: n.id,
          type: n.type,
          subjectId: n.subjectId,
          meter: n.meter,
          payload: JSON.parse(n.payload) as unknown,
          createdAt: new Date(n.createdAt).toISOString(),
        })),
        nextCursor: rows.length > q.limit && last ? notificationCursor.encode({ at: last.createdAt, id: last.id }) : null,
      },
      200,
    );
  });
}
