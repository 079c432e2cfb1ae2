import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { DeliveryRow } from "../db/webhook-endpoints";
import { wellFormedString } from "../domain/well-formed";
import type { AppEnv } from "../http/app-env";
import { auditContext } from "../http/auth";
import { getWebhookEndpoint } from "../services/get-webhook-endpoint";
import { listDeliveries } from "../services/list-deliveries";
import { redeliverWebhook } from "../services/redeliver-webhook";
import { testWebhookEndpoint } from "../services/test-webhook-endpoint";
import { deliveryCursor } from "./cursor";
import { createRoute, errorResponses, json, queryParameters, requiresScope } from "./schemas";
import { EndpointId } from "./webhook-endpoints";

const params = z.object({ id: EndpointId });

export const DeliverySchema = z
  .object({
    id: z.string(),
    notificationId: z.string().openapi({ description: "The webhook-id receivers see, the same on every retry and redelivery" }),
    eventType: z.string().openapi({ description: "A notification type, or webhook.test" }),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("WebhookDelivery");

export const TestDeliverySchema = DeliverySchema.extend({
  durationMs: z.number().int().openapi({ description: "How long the endpoint took to answer (or to fail)" }),
}).openapi("WebhookTestDelivery");

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

const test = createRoute({
  method: "post",
  path: "/v1/webhook-endpoints/{id}/test",
  tags: ["notifications"],
  summary: "Send a webhook.test event now and answer how it went",
  description:
    '`{ type: "webhook.test", timestamp, data: { endpointId, sentAt } }`, signed like every delivery, sent once (no retries, 10 s at most, redirects not followed) and logged in the delivery log. An endpoint that fails still answers 200, with the failure in `delivery`.',
  security: requiresScope("admin"),
  request: { params },
  responses: { 200: json(z.object({ delivery: TestDeliverySchema }), "The test ran"), ...errorResponses(404) },
});

const redeliver = createRoute({
  method: "post",
  path: "/v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver",
  tags: ["notifications"],
  summary: "Queue a delivery again",
  description:
    "Back to pending and through the notifications queue with its retries, with the same webhook-id (receivers deduplicate on it); delivered ones too. 404 when the delivery is not this endpoint's, and when its notification is not kept (`details.reason`: `notification_not_kept` for usage.recorded, `test_event` for a test).",
  security: requiresScope("admin"),
  request: { params: params.extend({ deliveryId: wellFormedString().min(1).max(300) }) },
  responses: { 202: json(z.object({ delivery: DeliverySchema }), "Queued"), ...errorResponses(404) },
});

export function registerWebhookDeliveryRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(deliveries, async (c) => {
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

  app.openapi(test, async (c) => {
    const { delivery, durationMs } = await testWebhookEndpoint(c.env, auditContext(c), c.req.valid("param").id);
    return c.json({ delivery: { ...toPublicDelivery(delivery), durationMs } }, 200);
  });

  app.openapi(redeliver, async (c) => {
    const { id, deliveryId } = c.req.valid("param");
    return c.json({ delivery: toPublicDelivery(await redeliverWebhook(c.env, auditContext(c), id, deliveryId)) }, 202);
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
