import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Meter } from "../db/meters";
import { MeterKey, Unit } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { auditContext } from "../http/auth";
import { defineMeter } from "../services/define-meter";
import { getMeter } from "../services/get-meter";
import { listMeters } from "../services/list-meters";
import { setMeterArchived } from "../services/set-meter-archived";
import { bearerAuth, booleanQueryFlag, createRoute, errorResponses, json, jsonBody, queryParameters, requiresScope } from "./schemas";

export const MeterSchema = z
  .object({
    key: z.string(),
    unit: z.string(),
    kind: z.enum(["counter", "gauge"]),
    description: z.string().nullable(),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
    archivedAt: z.string().nullable().openapi({ format: "date-time", description: "Set while the meter takes no new usage" }),
  })
  .openapi("Meter");

export const MeterInputSchema = z
  .strictObject({
    unit: Unit,
    kind: z.enum(["counter", "gauge"]).default("counter"),
    description: z.string().max(500).nullable().optional(),
  })
  .openapi("MeterInput");

const params = z.object({ key: MeterKey });
const OneMeter = z.object({ meter: MeterSchema });

const putMeter = createRoute({
  method: "put",
  path: "/v1/meters/{key}",
  tags: ["meters"],
  summary: "Define a meter",
  description:
    "Creates the meter (201) or updates its description (200). Unit and kind are fixed once defined, because history is counted in them: a different unit or kind answers 409 METER_IMMUTABLE. An archived meter stays archived; POST /v1/meters/{key}/unarchive brings it back.",
  security: requiresScope("admin"),
  request: { params, ...jsonBody(MeterInputSchema) },
  responses: {
    201: json(OneMeter, "Created"),
    200: json(OneMeter, "Updated"),
    ...errorResponses(409, 413, 415),
  },
});

const getMeters = createRoute({
  method: "get",
  path: "/v1/meters",
  tags: ["meters"],
  summary: "List meters",
  description: "In key order. Archived meters are left out unless `includeArchived=true`.",
  security: bearerAuth,
  request: { query: queryParameters({ includeArchived: booleanQueryFlag("Include archived meters (default false)") }) },
  responses: { 200: json(z.object({ data: z.array(MeterSchema) }), "Every meter"), ...errorResponses() },
});

const getOneMeter = createRoute({
  method: "get",
  path: "/v1/meters/{key}",
  tags: ["meters"],
  summary: "Read a meter",
  description: "Archived meters too. Open to every authenticated caller, as the list is: dashboards need units.",
  security: bearerAuth,
  request: { params },
  responses: { 200: json(OneMeter, "The meter"), ...errorResponses(404) },
});

function archiveRoute(verb: "archive" | "unarchive", summary: string, description: string) {
  return createRoute({
    method: "post",
    path: `/v1/meters/{key}/${verb}`,
    tags: ["meters"],
    summary,
    description,
    security: requiresScope("admin"),
    request: { params },
    responses: { 200: json(OneMeter, "The meter as it is now"), ...errorResponses(404) },
  });
}

const archive = archiveRoute(
  "archive",
  "Archive a meter",
  "From now on new usage of the meter (record, batch, queue, consume, reserve, gauge moves) is 422 METER_ARCHIVED and writes nothing, and so is a plan or subject override naming it. History, summaries, balances, commits and releases of holds taken before, and voids keep working. Other isolates see the change within 30 s. Archiving an archived meter answers it unchanged.",
);
const unarchive = archiveRoute(
  "unarchive",
  "Unarchive a meter",
  "The meter takes usage and entitlements again. Unarchiving a live meter answers it unchanged.",
);

export function registerMeterRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(putMeter, async (c) => {
    const { meter, created } = await defineMeter(c.env, auditContext(c), c.req.valid("param").key, c.req.valid("json"));
    return c.json({ meter: toPublicMeter(meter) }, created ? 201 : 200);
  });

  app.openapi(getMeters, async (c) => {
    const meters = await listMeters(c.env, c.req.valid("query").includeArchived);
    return c.json({ data: meters.map(toPublicMeter) }, 200);
  });

  app.openapi(getOneMeter, async (c) => c.json({ meter: toPublicMeter(await getMeter(c.env, c.req.valid("param").key)) }, 200));

  app.openapi(archive, async (c) => {
    return c.json({ meter: toPublicMeter(await setMeterArchived(c.env, auditContext(c), c.req.valid("param").key, true)) }, 200);
  });

  app.openapi(unarchive, async (c) => {
    return c.json({ meter: toPublicMeter(await setMeterArchived(c.env, auditContext(c), c.req.valid("param").key, false)) }, 200);
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
    archivedAt: m.archivedAt === null ? null : new Date(m.archivedAt).toISOString(),
  };
}
