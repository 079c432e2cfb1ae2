import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { GaugeOperation } from "../domain/event-rules";
import { Amount, Dimensions, IdempotencyKey, Metadata, MeterKey, SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { moveGauge } from "../services/move-gauge";
import { EntitlementRowSchema, toEntitlementRow } from "./entitlements";
import { createRoute, errorResponses, IdempotencyHeaderSchema, json, jsonBody, requiresScope } from "./schemas";

const params = z.object({ subjectId: SubjectId, meter: MeterKey });
const common = { idempotencyKey: IdempotencyKey.optional(), dimensions: Dimensions.optional(), metadata: Metadata.optional() };
const MoveInput = z.strictObject({ amount: Amount.default(1), ...common }).openapi("GaugeMoveInput");
const SetInput = z.strictObject({ value: Amount, ...common }).openapi("GaugeSetInput");
export const GaugeMovedSchema = z.object({ entitlement: EntitlementRowSchema, status: z.enum(["created", "duplicate"]) });
const responses = {
  200: json(GaugeMovedSchema, "The meter after the move"),
  ...errorResponses(409, 413, 415, 422, 503),
};

function moveRoute<Body extends z.ZodType>(method: "post" | "put", path: string, summary: string, body: Body) {
  return createRoute({
    method,
    path,
    tags: ["gauges"],
    summary,
    description: "Records the move as a usage event (never denied: it is a fact). Gauges never go below 0.",
    security: requiresScope("entitlements:write"),
    request: { params, headers: IdempotencyHeaderSchema, ...jsonBody(body) },
    responses,
  });
}

const increment = moveRoute("post", "/v1/subjects/{subjectId}/meters/{meter}/increment", "Raise a gauge (or add to a counter)", MoveInput);
const decrement = moveRoute("post", "/v1/subjects/{subjectId}/meters/{meter}/decrement", "Lower a gauge", MoveInput);
const set = moveRoute("put", "/v1/subjects/{subjectId}/meters/{meter}", "Set a gauge's level", SetInput);

export function registerGaugeRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(increment, async (c) => c.json(await move(c, "add", c.req.valid("json")), 200));
  app.openapi(decrement, async (c) => c.json(await move(c, "remove", c.req.valid("json")), 200));
  app.openapi(set, async (c) => {
    const { value, ...rest } = c.req.valid("json");
    return c.json(await move(c, "set", { amount: value, ...rest }), 200);
  });
}

interface Move {
  amount: number;
  idempotencyKey?: string;
  dimensions?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

async function move(c: Context<AppEnv>, operation: GaugeOperation, body: Move) {
  const { subjectId, meter } = c.req.param() as { subjectId: string; meter: string };
  const { entitlement, status } = await moveGauge(c.env, {
    subjectId,
    meter,
    amount: body.amount,
    operation,
    idempotencyKey: body.idempotencyKey ?? c.req.header("idempotency-key"),
    dimensions: body.dimensions ?? {},
    metadata: (body.metadata ?? {}) as never,
  });
  return { entitlement: toEntitlementRow(entitlement), status };
}
