import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, PositiveAmount, toPublicBalance } from "../domain/credits";
import { toPublicEvent } from "../domain/stored-event";
import { Amount, Dimensions, IdempotencyKey, Metadata, MeterKey, SubjectId } from "../domain/usage-event";
import { wellFormedString } from "../domain/well-formed";
import type { AppEnv } from "../http/app-env";
import { requireSubjectAccess } from "../http/auth";
import { commitReservation } from "../services/commit-reservation";
import { getReservation } from "../services/get-reservation";
import { listReservations } from "../services/list-reservations";
import { releaseReservation } from "../services/release-reservation";
import { reserveEntitlement } from "../services/reserve-entitlement";
import { ReservationSchema, toPublicReservation } from "./credit-views";
import { reservationCursor } from "./cursor";
import {
  createRoute,
  errorResponses,
  EventSchema,
  IdempotencyHeaderSchema,
  json,
  jsonBody,
  queryParameters,
  requiresScope,
} from "./schemas";

const ReservationId = wellFormedString().min(1).max(100);
const subjectParams = z.object({ subjectId: SubjectId });
const reservationParams = z.object({ subjectId: SubjectId, reservationId: ReservationId });

export const ReserveInput = z
  .strictObject({
    amount: PositiveAmount,
    ttlSeconds: z.number().int().min(1).max(MAX_TTL_SECONDS).default(DEFAULT_TTL_SECONDS),
    idempotencyKey: IdempotencyKey.optional(),
    dimensions: Dimensions.optional(),
    metadata: Metadata.optional(),
  })
  .openapi("ReserveInput");

export const CommitReservationInput = z
  .strictObject({ amount: Amount.optional().openapi({ description: "What actually happened; the held amount when left out" }) })
  .openapi("CommitReservationInput");

const BalanceFields = {
  used: z.number(),
  held: z.number(),
  granted: z.number(),
  limit: z.number().nullable(),
  remaining: z.number().nullable().openapi({ description: "limit − used − held + granted, never below 0; null when unlimited" }),
};

export const ReservedSchema = z
  .object({ reservation: ReservationSchema, status: z.enum(["created", "duplicate"]), allowed: z.literal(true), ...BalanceFields })
  .openapi("Reserved");
export const CommittedSchema = z
  .object({
    reservation: ReservationSchema,
    event: EventSchema.nullable().openapi({ description: "The usage event recorded; null when 0 was committed" }),
    status: z.enum(["committed", "already_committed"]),
    overage: z.boolean().openapi({ description: "The commit went past a hard limit (recorded anyway)" }),
  })
  .openapi("CommittedReservation");
export const ReleasedSchema = z
  .object({ reservation: ReservationSchema, status: z.enum(["released", "already_released"]) })
  .openapi("ReleasedReservation");
export const ReservationPageSchema = z
  .object({ data: z.array(ReservationSchema), nextCursor: z.string().nullable() })
  .openapi("ReservationPage");

const reserveRoute = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/entitlements/{meter}/reserve",
  tags: ["reservations"],
  summary: "Hold an amount against the limit until the usage is known",
  description: `Holds \`amount\` for \`ttlSeconds\` (1–${MAX_TTL_SECONDS}, default ${DEFAULT_TTL_SECONDS}): it counts against the limit like usage (\`remaining = limit − used − held + granted\`) but records nothing yet. Over a hard limit: 402 LIMIT_EXCEEDED and nothing held; holds and consumes together never pass a hard limit, whatever the concurrency. Then commit it (records the actual usage) or release it; a hold neither committed nor released by \`expiresAt\` is released by the subject's ledger and notifies \`reservation.expired\`. A replay of the same idempotency key answers the same reservation; the same key with another body is 409.`,
  security: requiresScope("entitlements:write"),
  request: { params: z.object({ subjectId: SubjectId, meter: MeterKey }), headers: IdempotencyHeaderSchema, ...jsonBody(ReserveInput) },
  responses: {
    200: json(ReservedSchema, "Held; the balance after the hold"),
    402: json(
      z.object({
        error: z.object({
          code: z.literal("LIMIT_EXCEEDED"),
          message: z.string(),
          requestId: z.string(),
          details: z.object({ allowed: z.literal(false), ...BalanceFields, overage: z.boolean() }),
        }),
      }),
      "Denied; nothing held",
    ),
    ...errorResponses(409, 413, 415, 422, 503),
  },
});

const commitRoute = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/reservations/{reservationId}/commit",
  tags: ["reservations"],
  summary: "Record what a hold turned into",
  description:
    "Records a usage event of `amount` (the held amount when left out; source `reservation`) and ends the hold. Less than held releases the rest. More than held is recorded too, since the usage happened; past a hard limit the answer says `overage: true`. `amount: 0` ends the hold as `committed` with `committedAmount: 0` and records nothing (`event: null`): the usage did not happen. The same commit again answers the same event (`already_committed`); another amount after a commit is 409 IDEMPOTENCY_CONFLICT. A released or expired hold is 409 RESERVATION_NOT_HELD with its `status` in `details`.",
  security: requiresScope("entitlements:write"),
  request: {
    params: reservationParams,
    body: { content: { "application/json": { schema: CommitReservationInput } }, required: false },
  },
  responses: { 200: json(CommittedSchema, "Committed"), ...errorResponses(404, 409, 413, 415, 503) },
});

const releaseRoute = createRoute({
  method: "post",
  path: "/v1/subjects/{subjectId}/reservations/{reservationId}/release",
  tags: ["reservations"],
  summary: "Free a hold without recording anything",
  description:
    "Takes no body (or `{}`). Releasing again answers the same reservation (`already_released`); a committed or expired hold is 409 RESERVATION_NOT_HELD with its `status` in `details`.",
  security: requiresScope("entitlements:write"),
  request: {
    params: reservationParams,
    body: { content: { "application/json": { schema: z.strictObject({}).openapi("ReleaseInput") } }, required: false },
  },
  responses: { 200: json(ReleasedSchema, "Released"), ...errorResponses(404, 409, 413, 415, 503) },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/subjects/{subjectId}/reservations",
  tags: ["reservations"],
  summary: "The subject's holds, newest first",
  security: requiresScope("usage:read", { users: true }),
  request: {
    params: subjectParams,
    query: queryParameters({
      status: z.enum(["held", "committed", "released", "expired"]).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(500).optional().openapi({ description: "nextCursor of the previous page" }),
    }),
  },
  responses: { 200: json(ReservationPageSchema, "One page of reservations"), ...errorResponses(503) },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/subjects/{subjectId}/reservations/{reservationId}",
  tags: ["reservations"],
  summary: "One hold",
  security: requiresScope("usage:read", { users: true }),
  request: { params: reservationParams },
  responses: { 200: json(z.object({ reservation: ReservationSchema }), "The reservation"), ...errorResponses(404, 503) },
});

export function registerReservationRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(reserveRoute, async (c) => {
    const { subjectId, meter } = c.req.valid("param");
    const body = c.req.valid("json");
    const { status, reservation, snapshot } = await reserveEntitlement(c.env, {
      subjectId,
      meter,
      amount: body.amount,
      ttlSeconds: body.ttlSeconds,
      idempotencyKey: body.idempotencyKey ?? c.req.valid("header")["idempotency-key"],
      dimensions: body.dimensions ?? {},
      metadata: (body.metadata ?? {}) as never,
    });
    return c.json({ reservation: toPublicReservation(reservation), status, allowed: true as const, ...toPublicBalance(snapshot) }, 200);
  });

  app.openapi(commitRoute, async (c) => {
    const { subjectId, reservationId } = c.req.valid("param");
    const body = (c.req.valid("json") as z.infer<typeof CommitReservationInput> | undefined) ?? {};
    const result = await commitReservation(c.env, subjectId, reservationId, body.amount);
    const { reservation, event, status, overage } = result;
    return c.json(
      { reservation: toPublicReservation(reservation), event: event === null ? null : toPublicEvent(event), status, overage },
      200,
    );
  });

  app.openapi(releaseRoute, async (c) => {
    const { subjectId, reservationId } = c.req.valid("param");
    const { status, reservation } = await releaseReservation(c.env, subjectId, reservationId);
    return c.json({ reservation: toPublicReservation(reservation), status }, 200);
  });

  app.openapi(listRoute, async (c) => {
    const { subjectId } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    const { status, limit, cursor } = c.req.valid("query");
    const position = cursor === undefined ? null : reservationCursor.decode(cursor);
    const rows = await listReservations(c.env, subjectId, {
      status: status ?? null,
      before: position && { createdAt: position.at, id: position.id },
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last ? reservationCursor.encode({ at: last.createdAt, id: last.id }) : null;
    return c.json({ data: page.map(toPublicReservation), nextCursor }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { subjectId, reservationId } = c.req.valid("param");
    requireSubjectAccess(c, subjectId);
    return c.json({ reservation: toPublicReservation(await getReservation(c.env, subjectId, reservationId)) }, 200);
  });
}
