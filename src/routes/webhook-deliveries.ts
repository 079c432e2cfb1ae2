import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { DeliveryRow } from "../db/webhook-endpoints";
import type { AppEnv } from "../http/app-env";
import { requireScope } from "../http/auth";
import { getWebhookEndpoint } from "../services/get-webhook-endpoint";
import { listDeliveries } from "../services/list-deliveries";
import { deliveryCursor } from "./cursor";
import { createRoute, errorResponses, json, queryParameters, requiresScope } from "./schemas";
import { EndpointId } from "./webhook-endpoints";

const params = z.object({ id: EndpointId });

const DeliverySchema = z
  .object({
    id: z.string(),
    notificationId: z.string(),
    eventType: z.string(),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("WebhookDelivery");

const deliveries = createRoute({
  method: "get",
  path: "/v1/webhook-endpoints/{id}/deliveries",
  tags: ["notifications"],
  summary: "Delivery log, newest first",
  security: requiresScope("admin"),
  request: {
    params,
    query: queryParameters({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().max(500).optional() }),
  },
  responses: {
    200: json(z.object({ data: z.array(DeliverySchema), nextCursor: z.string().nullable() }), "One page"),
    ...errorResponses(404),
  },
});

export function registerWebhookDeliveryRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(deliveries, async (c) => {
    requireScope(c, "admin");
    const { id } = c.req.valid("param");
    // An unknown endpoint is 404 even when the cursor is bad too.
    await getWebhookEndpoint(c.env, id);
    const { limit, cursor } = c.req.valid("query");
    const rows = await listDeliveries(c.env, id, limit + 1, cursor === undefined ? undefined : deliveryCursor.decode(cursor));
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return c.json(
      {
        data: page.map(toPublicDelivery),
        nextCursor: rows.length > limit && last ? deliveryCursor.encode({ at: last.createdAt, id: last.id }) : null,
      },
      200,
    );
  });
}

function toPublicDelivery(d: DeliveryRow) {
  return {
    id: d.id,
    notificationId: d.notificationId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}
