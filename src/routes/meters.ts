import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Meter } from "../db/meters";
import { MeterKey, Unit } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { defineMeter } from "../services/define-meter";
import { listMeters } from "../services/list-meters";
import { bearerAuth, createRoute, errorResponses, json, jsonBody, requiresScope } from "./schemas";

export const MeterSchema = z
  .object({
    key: z.string(),
    unit: z.string(),
    kind: z.enum(["counter", "gauge"]),
    description: z.string().nullable(),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Meter");

export const MeterInputSchema = z
  .strictObject({
    unit: Unit,
    kind: z.enum(["counter", "gauge"]).default("counter"),
    description: z.string().max(500).nullable().optional(),
  })
  .openapi("MeterInput");

const putMeter = createRoute({
  method: "put",
  path: "/v1/meters/{key}",
  tags: ["meters"],
  summary: "Define a meter",
  description:
    "Creates the meter (201) or updates its description (200). Unit and kind are fixed once defined, because history is counted in them: a different unit or kind answers 409 METER_IMMUTABLE.",
  security: requiresScope("admin"),
  request: { params: z.object({ key: MeterKey }), ...jsonBody(MeterInputSchema) },
  responses: {
    201: json(z.object({ meter: MeterSchema }), "Created"),
    200: json(z.object({ meter: MeterSchema }), "Updated"),
    ...errorResponses(409, 413, 415),
  },
});

const getMeters = createRoute({
  method: "get",
  path: "/v1/meters",
  tags: ["meters"],
  summary: "List meters",
  security: bearerAuth,
  responses: { 200: json(z.object({ data: z.array(MeterSchema) }), "Every meter"), ...errorResponses() },
});

export function registerMeterRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putMeter, async (c) => {
    const { meter, created } = await defineMeter(c.env, c.req.valid("param").key, c.req.valid("json"));
    return c.json({ meter: toPublicMeter(meter) }, created ? 201 : 200);
  });

  app.openapi(getMeters, async (c) => {
    const meters = await listMeters(c.env);
    return c.json({ data: meters.map(toPublicMeter) }, 200);
  });
}

function toPublicMeter(m: Meter) {
  return {
    key: m.key,
    unit: m.unit,
    kind: m.kind,
    description: m.description,
    createdAt: new Date(m.createdAt).toISOString(),
    updatedAt: new Date(m.updatedAt).toISOString(),
  };
}
