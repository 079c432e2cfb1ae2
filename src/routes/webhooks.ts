import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { DomainError } from "../domain/errors";
import { FAX_REFUSALS, type FaxEvent } from "../domain/fax";
import type { AppEnv } from "../http/app-env";
import { log } from "../http/log";
import { handleFaxEvent } from "../services/handle-fax-event";
import { parseNotifyreEvent } from "../webhooks/notifyre";
import { verifyNotifyreSignature } from "../webhooks/notifyre-signature";
import { parseTelnyxEvent } from "../webhooks/telnyx";
import { verifyTelnyxSignature, type SignatureCheck } from "../webhooks/telnyx-signature";
import { ErrorEnvelopeSchema, json } from "./schemas";

const AckSchema = z.object({
  received: z.literal(true),
  outcome: z.enum(["billed", "already_billed", "parked", "recorded", "refused", "ignored"]),
  reason: z
    .enum([...FAX_REFUSALS, "ATTRIBUTION_CONFLICT"])
    .optional()
    .openapi({
      description:
        "Why, when the outcome needs one: a refused delivery's INVALID_PAGE_COUNT, or ATTRIBUTION_CONFLICT when the fax is already billed to another subject",
    }),
});

function webhookRoute(provider: "telnyx" | "notifyre", description: string) {
  return createRoute({
    method: "post",
    path: `/webhooks/${provider}`,
    tags: ["webhooks"],
    summary: `${provider === "telnyx" ? "Telnyx" : "Notifyre"} fax webhooks`,
    description,
    responses: {
      200: json(AckSchema, "Verified and handled (billed, already billed, parked, recorded, refused with a reason, or ignored)"),
      401: json(ErrorEnvelopeSchema, "Signature missing, malformed, invalid or outside the 300 s window; nothing stored"),
      500: json(ErrorEnvelopeSchema, "The provider's key or secret is not configured: the provider should deliver again"),
      503: json(ErrorEnvelopeSchema, "The bill could not be written: the provider should deliver again"),
    },
  });
}

const telnyx = webhookRoute(
  "telnyx",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the signed string's layout, as the docs write it
  'Ed25519 signature over `${telnyx-timestamp}|${rawBody}` with TELNYX_PUBLIC_KEY. Bills `fax.delivered` (outbound) on meter `fax` with key `telnyx:<fax_id>`; the subject comes from `client_state` (base64 of {"subjectId":…}) or the fax registry.',
);
const notifyre = webhookRoute(
  "notifyre",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the signed string's layout, as the docs write it
  "`Notifyre-Signature: t=…,v=…`, HMAC-SHA256 of `${t}.${rawBody}` with NOTIFYRE_WEBHOOK_SECRET. Bills `fax_sent` with a successful status on meter `fax` with key `notifyre:<ID>`; the subject is `Payload.Reference` or the fax registry.",
);

export function registerWebhookRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(telnyx, async (c) => {
    const raw = await c.req.text();
    const check = await verifyTelnyxSignature({
      rawBody: raw,
      headers: c.req.raw.headers,
      publicKeyBase64: c.env.TELNYX_PUBLIC_KEY,
      nowMs: Date.now(),
    });
    return c.json(await handle(c, check, raw, parseTelnyxEvent), 200);
  });

  app.openapi(notifyre, async (c) => {
    const raw = await c.req.text();
    const check = await verifyNotifyreSignature({
      rawBody: raw,
      headers: c.req.raw.headers,
      secret: c.env.NOTIFYRE_WEBHOOK_SECRET,
      nowMs: Date.now(),
    });
    return c.json(await handle(c, check, raw, parseNotifyreEvent), 200);
  });
}

async function handle(
  c: Context<AppEnv>,
  check: SignatureCheck,
  raw: string,
  parse: (body: unknown, nowMs: number) => FaxEvent | null,
): Promise<z.infer<typeof AckSchema>> {
  if (!check.ok) {
    if (check.code === "WEBHOOK_NOT_CONFIGURED") throw new DomainError("CONFIGURATION_ERROR", check.message);
    throw new DomainError(check.code, check.message);
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new DomainError("INVALID_JSON", "The signed body is not JSON.");
  }
  const event = parse(body, Date.now());
  if (!event) {
    log("warn", "webhook.unrecognised", { requestId: c.get("requestId"), path: c.req.path });
    return { received: true, outcome: "ignored" };
  }
  const result = await handleFaxEvent(c.env, event);
  log("info", "webhook.handled", {
    requestId: c.get("requestId"),
    provider: event.provider,
    eventType: event.eventType,
    faxId: event.faxId,
    ...result,
  });
  return { received: true, ...result };
}
