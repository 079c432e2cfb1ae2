import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { WebhookEndpoint } from "../db/webhook-endpoints";
import { NOTIFICATION_TYPES } from "../domain/notifications";
import { checkOutboundUrl, outboundUrlPolicy } from "../domain/outbound-url";
import { secretOverlapEndsAt } from "../domain/standard-webhooks";
import type { AppEnv } from "../http/app-env";
import { invalidField } from "../http/errors";
import { auditContext } from "../http/auth";
import { deleteWebhookEndpoint } from "../services/delete-webhook-endpoint";
import { getWebhookEndpoint } from "../services/get-webhook-endpoint";
import { listWebhookEndpoints } from "../services/list-webhook-endpoints";
import { rotateWebhookSecret } from "../services/rotate-webhook-secret";
import { saveWebhookEndpoint } from "../services/save-webhook-endpoint";
import { webhookEndpointCursor } from "./cursor";
import { createRoute, errorResponses, json, jsonBody, PageQuery, queryParameters, requiresScope } from "./schemas";

export const EndpointId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "letters, digits, '_', '.', '-'");
const params = z.object({ id: EndpointId });
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

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
    rotateSecret: z
      .boolean()
      .optional()
      .openapi({ description: "Issue a new signing secret (answered once); the old one stops at once. rotate-secret overlaps them." }),
  })
  .openapi("WebhookEndpointInput");

const RotateSecretInput = z
  .strictObject({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_OVERLAP_SECONDS)
      .optional()
      .openapi({ description: "How long deliveries are signed with the old secret too (default 86400; 0 stops it now; at most 7 days)" }),
  })
  .openapi("WebhookSecretRotationInput");

export const EndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(NOTIFICATION_TYPES)),
    description: z.string().nullable(),
    secret: z.string().optional().openapi({ description: "whsec_… — only when created or rotated by PUT; keep it" }),
    secretRotatingUntil: z.string().nullable().openapi({
      format: "date-time",
      description: "Until when deliveries also carry the previous secret's signature; null when they carry one",
    }),
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

const list = createRoute({
  method: "get",
  path: "/v1/webhook-endpoints",
  tags: ["notifications"],
  summary: "List subscriptions (never their secrets), in id order",
  security: requiresScope("admin"),
  request: {
    query: queryParameters(PageQuery),
  },
  responses: { 200: json(z.object({ data: z.array(EndpointSchema), nextCursor: z.string().nullable() }), "One page"), ...errorResponses() },
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

const rotate = createRoute({
  method: "post",
  path: "/v1/webhook-endpoints/{id}/rotate-secret",
  tags: ["notifications"],
  summary: "Give an endpoint a new signing secret, with an overlap",
  description:
    "Until `secretRotatingUntil` every delivery carries two signatures in webhook-signature, `v1,<new> v1,<old>`; Standard Webhooks receivers accept either, so the receiver can switch secrets at its own pace. Rotating again during an overlap drops the oldest secret at once.",
  security: requiresScope("admin"),
  request: { params, body: { content: { "application/json": { schema: RotateSecretInput } }, required: false } },
  responses: {
    200: json(
      z.object({ endpoint: EndpointSchema, secret: z.string().openapi({ description: "The new whsec_… secret, shown this once" }) }),
      "Rotated; keep the new secret now",
    ),
    ...errorResponses(404, 413, 415),
  },
});

export function registerWebhookEndpointRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(put, async (c) => {
    const input = c.req.valid("json");
    const target = checkOutboundUrl(input.url, outboundUrlPolicy(c.env));
    if (!target.ok) throw invalidField("url", target.reason, "invalid_url");
    const { endpoint, created, secretIssued } = await saveWebhookEndpoint(c.env, auditContext(c), c.req.valid("param").id, input);
    return c.json({ endpoint: toPublic(endpoint, secretIssued) }, created ? 201 : 200);
  });

  app.openapi(list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const { endpoints, more } = await listWebhookEndpoints(
      c.env,
      cursor === undefined ? null : webhookEndpointCursor.decode(cursor),
      limit,
    );
    const last = endpoints[endpoints.length - 1];
    return c.json(
      { data: endpoints.map((e) => toPublic(e, false)), nextCursor: more && last ? webhookEndpointCursor.encode(last.id) : null },
      200,
    );
  });

  app.openapi(get, async (c) => {
    const endpoint = await getWebhookEndpoint(c.env, c.req.valid("param").id);
    return c.json({ endpoint: toPublic(endpoint, false) }, 200);
  });

  app.openapi(remove, async (c) => {
    await deleteWebhookEndpoint(c.env, auditContext(c), c.req.valid("param").id);
    return c.json({ deleted: true as const }, 200);
  });

  app.openapi(rotate, async (c) => {
    const body = c.req.valid("json") as z.infer<typeof RotateSecretInput> | undefined;
    const rotated = await rotateWebhookSecret(c.env, auditContext(c), c.req.valid("param").id, body?.overlapSeconds ?? 86_400);
    return c.json({ endpoint: toPublic(rotated.endpoint, false), secret: rotated.secret }, 200);
  });
}

function toPublic(e: WebhookEndpoint, withSecret: boolean) {
  const rotatingUntil = secretOverlapEndsAt(e, Date.now());
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    description: e.description,
    ...(withSecret ? { secret: e.secret } : {}),
    secretRotatingUntil: rotatingUntil === null ? null : new Date(rotatingUntil).toISOString(),
    createdAt: new Date(e.createdAt).toISOString(),
    updatedAt: new Date(e.updatedAt).toISOString(),
  };
}
