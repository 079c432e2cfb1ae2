import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { WebhookEndpoint } from "../db/webhook-endpoints";
import { NOTIFICATION_TYPES } from "../domain/notifications";
import { checkOutboundUrl, outboundUrlPolicy } from "../domain/outbound-url";
import type { AppEnv } from "../http/app-env";
import { invalidField } from "../http/errors";
import { auditContext, requireScope } from "../http/auth";
import { deleteWebhookEndpoint } from "../services/delete-webhook-endpoint";
import { getWebhookEndpoint } from "../services/get-webhook-endpoint";
import { saveWebhookEndpoint } from "../services/save-webhook-endpoint";
import { createRoute, errorResponses, json, jsonBody, requiresScope } from "./schemas";

export const EndpointId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "letters, digits, '_', '.', '-'");
const params = z.object({ id: EndpointId });

const EndpointInput = z
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

const EndpointSchema = z
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

const put = createRoute({
  method: "put",
  path: "/v1/webhook-endpoints/{id}",
  tags: ["notifications"],
  summary: "Subscribe a URL to notifications",
  description: `Events: ${NOTIFICATION_TYPES.join(", ")}. Deliveries are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the endpoint's whsec_ secret, which is answered only when the endpoint is created or the secret rotated.`,
  security: requiresScope("admin"),
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
  security: requiresScope("admin"),
  request: { params },
  responses: { 200: json(z.object({ endpoint: EndpointSchema }), "The endpoint (no secret)"), ...errorResponses(404) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/webhook-endpoints/{id}",
  tags: ["notifications"],
  summary: "Unsubscribe",
  security: requiresScope("admin"),
  request: { params },
  responses: { 200: json(z.object({ deleted: z.literal(true) }), "Deleted"), ...errorResponses(404) },
});

export function registerWebhookEndpointRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(put, async (c) => {
    requireScope(c, "admin");
    const input = c.req.valid("json");
    const target = checkOutboundUrl(input.url, outboundUrlPolicy(c.env));
    if (!target.ok) throw invalidField("url", target.reason, "invalid_url");
    const { endpoint, created, secretIssued } = await saveWebhookEndpoint(c.env, auditContext(c), c.req.valid("param").id, input);
    return c.json({ endpoint: toPublic(endpoint, secretIssued) }, created ? 201 : 200);
  });

  app.openapi(get, async (c) => {
    requireScope(c, "admin");
    const endpoint = await getWebhookEndpoint(c.env, c.req.valid("param").id);
    return c.json({ endpoint: toPublic(endpoint, false) }, 200);
  });

  app.openapi(remove, async (c) => {
    requireScope(c, "admin");
    await deleteWebhookEndpoint(c.env, auditContext(c), c.req.valid("param").id);
    return c.json({ deleted: true as const }, 200);
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
