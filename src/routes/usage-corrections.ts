import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { AmendInput, VoidInput } from "../domain/corrections";
import { toPublicEvent } from "../domain/stored-event";
import { wellFormedString } from "../domain/well-formed";
import type { AppEnv } from "../http/app-env";
import { auditContext } from "../http/auth";
import { amendUsageEvent } from "../services/amend-usage-event";
import { voidUsageEvent } from "../services/void-usage-event";
import { createRoute, errorResponses, EventSchema, json, requiresScope } from "./schemas";

const params = z.object({ id: wellFormedString().min(1).max(100) });

export const VoidedSchema = z.object({ event: EventSchema, status: z.enum(["voided", "already_voided"]) }).openapi("VoidedUsage");
export const AmendedSchema = z
  .object({ voided: EventSchema, event: EventSchema, status: z.enum(["created", "duplicate"]) })
  .openapi("AmendedUsage");

const voidRoute = createRoute({
  method: "post",
  path: "/v1/usage/{id}/void",
  tags: ["usage"],
  summary: "Take back a recorded event",
  description:
    "The subject's counters, gauge level, closed periods and thresholds are restated at once; history keeps the event with `voidedAt` and `voidReason`, and lists, summaries and exports leave it out unless `includeVoided=true`. Voiding again answers `already_voided`. Events from the last 35 days can be voided. History lags recording by a second or two: a just-recorded event may answer 404 for that long.",
  security: requiresScope("admin"),
  request: {
    params,
    body: { content: { "application/json": { schema: VoidInput.openapi("VoidInput") } }, required: false },
  },
  responses: { 200: json(VoidedSchema, "Voided (or already voided)"), ...errorResponses(404, 413, 415, 422, 503) },
});

const amendRoute = createRoute({
  method: "post",
  path: "/v1/usage/{id}/amend",
  tags: ["usage"],
  summary: "Correct a recorded event",
  description:
    "Voids the event and records its replacement (the original with the fields given laid over it) in one transaction. The replacement has the idempotency key `amend:<id>` and source `amend`. The same amendment again answers `duplicate` with the same replacement; other corrections of an amended event are 409 (amend the replacement instead).",
  security: requiresScope("admin"),
  request: { params, body: { content: { "application/json": { schema: AmendInput.openapi("AmendInput") } }, required: true } },
  responses: { 200: json(AmendedSchema, "Voided and replaced"), ...errorResponses(404, 409, 413, 415, 422, 503) },
});

export function registerUsageCorrectionRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(voidRoute, async (c) => {
    const body = (c.req.valid("json") as VoidInput | undefined) ?? {};
    const result = await voidUsageEvent(c.env, auditContext(c), c.req.valid("param").id, body.reason ?? null);
    return c.json({ event: toPublicEvent(result.event), status: result.status }, 200);
  });

  app.openapi(amendRoute, async (c) => {
    const result = await amendUsageEvent(c.env, auditContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ voided: toPublicEvent(result.voided), event: toPublicEvent(result.event), status: result.status }, 200);
  });
}
