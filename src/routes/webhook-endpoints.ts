import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { DeliveryRow, WebhookEndpoint } from "../db/webhook-endpoints";
import { NOTIFICATION_TYPES } from "../domain/notifications";
import { checkOutboundUrl, outboundUrlPolicy } from "../domain/outbound-url";
import type { AppEnv } from "../http/app-env";
import { invalidField } from "../http/errors";
import { requireService } from "../http/auth";
import { deleteWebhookEndpoint } from "../services/delete-webhook-endpoint";
import { getWebhookEndpoint } from "../services/get-webhook-endpoint";
import { listDeliveries } from "../services/list-deliveries";
import { saveWebhookEndpoint } from "../services/save-webhook-endpoint";
import { deliveryCursor } from "./cursor";
import { bearerAuth, createRoute, errorResponses, json, jsonBody, queryParameters } from "./schemas";

const EndpointId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "letters, digits, '_', '.', '-'");
const params = z.object({ id: EndpointId });

export const EndpointInput = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .openapi({
        description:
          "A public https URL: no private, loopback, link-local, CGNAT, unique-local or metadata address, no internal name, no credentials. Redirects are not followed.",
      }),
    events: z.array(z.enum(NOTIFICATION_TYPES)).min(1).max(NOTIFICATION_TYPES.length),
    description: z.string().max(500).optional(),
    rotateSecret: z.boolean().optional().openapi({ description: "Issue a new signing secret (answered once)." }),
  })
  .openapi("WebhookEndpointInput");

export const EndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(NOTIFICATION_TYPES)),
    description: z.string().nullable(),
    secret: z.string().optional().openapi({ description: "whsec_… — only when created or rotated; keep it" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("WebhookEndpoint");

export const DeliverySchema = z
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

const put = createRoute({
  method: "put",
  path: "/v1/webhook-endpoints/{id}",
  tags: ["notifications"],
  summary: "Subscribe a URL to notifications",
  description: `Events: ${NOTIFICATION_TYPES.join(", ")}. Deliveries are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the endpoint's whsec_ secret, which is answered only when the endpoint is created or the secret rotated.`,
  security: bearerAuth,
  request: { params, ...jsonBody(EndpointInput) },
  responses: {
    201: json(z.object({ endpoint: EndpointSchema }), "Created, with its secret"),
    200: json(z.object({ endpoint: EndpointSchema }), "Updated"),
    ...errorResponses(413, 415),
  },
});

const get = createRoute({
  method: "get",
  path: "/v1/webhook-endpoints/{id}",
  tags: ["notifications"],
  summary: "Read a subscription",
  security: bearerAuth,
  request: { params },
  responses: { 200: json(z.object({ endpoint: EndpointSchema }), "The endpoint (no secret)"), ...errorResponses(404) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/webhook-endpoints/{id}",
  tags: ["notifications"],
  summary: "Unsubscribe",
  security: bearerAuth,
  request: { params },
  responses: { 200: json(z.object({ deleted: z.literal(true) }), "Deleted"), ...errorResponses(404) },
});

const deliveries = createRoute({
  method: "get",
  path: "/v1/webhook-endpoints/{id}/deliveries",
  tags: ["notifications"],
  summary: "Delivery log, newest first",
  security: bearerAuth,
  request: {
    params,
    query: queryParameters({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().max(500).optional() }),
  },
  responses: {
    200: json(z.object({ data: z.array(DeliverySchema), nextCursor: z.string().nullable() }), "One page"),
    ...errorResponses(404),
  },
});

export function registerWebhookEndpointRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(put, async (c) => {
    requireService(c);
    const input = c.req.valid("json");
    const target = checkOutboundUrl(input.url, outboundUrlPolicy(c.env));
    if (!target.ok) throw invalidField("url", target.reason, "invalid_url");
    const { endpoint, created, secretIssued } = await saveWebhookEndpoint(c.env, c.req.valid("param").id, input);
    return c.json({ endpoint: toPublic(endpoint, secretIssued) }, created ? 201 : 200);
  });

  app.openapi(get, async (c) => {
    requireService(c);
    const endpoint = await getWebhookEndpoint(c.env, c.req.valid("param").id);
    return c.json({ endpoint: toPublic(endpoint, false) }, 200);
  });

  app.openapi(remove, async (c) => {
    requireService(c);
    await deleteWebhookEndpoint(c.env, c.req.valid("param").id);
    return c.json({ deleted: true as const }, 200);
  });

  app.openapi(deliveries, async (c) => {
    requireService(c);
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

function toPublic(e: WebhookEndpoint, withSecret: boolean) {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    description: e.description,
    ...(withSecret ? { secret: e.secret } : {}),
    createdAt: new Date(e.createdAt).toISOString(),
    updatedAt: new Date(e.updatedAt).toISOString(),
  };
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
