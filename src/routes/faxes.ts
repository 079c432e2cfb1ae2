import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { FaxRow, ParkedEvent } from "../db/faxes";
import { FaxId, MAX_FAX_PAGES } from "../domain/fax";
import { SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { auditContext } from "../http/auth";
import { getFax, type FaxRecord } from "../services/get-fax";
import { listUnattributedFaxes } from "../services/list-unattributed-faxes";
import { registerFax } from "../services/register-fax";
import { ReservationSchema, toPublicReservation } from "./credit-views";
import { unattributedCursor } from "./cursor";
import { DecisionSchema } from "./entitlements";
import { createRoute, errorResponses, json, jsonBody, queryParameters, requiresScope } from "./schemas";

const Provider = z.enum(["telnyx", "notifyre"]);

export const FaxInput = z
  .strictObject({
    provider: Provider,
    faxId: FaxId,
    subjectId: SubjectId,
    reservePages: z.number().int().min(1).max(MAX_FAX_PAGES).optional().openapi({
      description:
        "Pages to hold on meter `fax` until the provider reports the fax: delivered commits the pages it delivered, failed releases the hold. It lasts 24 h (the most a hold may); a delivery after that is billed all the same.",
    }),
  })
  .openapi("FaxRegistration");

const FaxReservationSchema = ReservationSchema.nullable().openapi({
  description: "The fax's hold (reservePages) as its subject's ledger has it; null when it has none",
});

export const FaxSchema = z
  .object({
    provider: Provider,
    faxId: z.string(),
    subjectId: z.string().nullable(),
    direction: z.string().nullable(),
    status: z.string().nullable(),
    pageCount: z.number().int().nullable(),
    failureReason: z.string().nullable(),
  })
  .openapi("Fax");

export const BilledFaxSchema = FaxSchema.extend({
  billedSubjectId: z.string().nullable().openapi({ description: "The one subject the fax is billed to; null while nothing billed it" }),
  billedPages: z.number().int().nullable(),
  billedAt: z.string().nullable().openapi({
    format: "date-time",
    description: "When that subject's ledger took the bill; null while a failed bill waits for the provider's retry",
  }),
}).openapi("BilledFax");

export const ReceiptSchema = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    status: z.string().nullable(),
    pageCount: z.number().int().nullable(),
    failureReason: z.string().nullable(),
    attributionConflict: z
      .string()
      .nullable()
      .openapi({ description: "The subject this delivery named when the fax was already billed to another; it was not billed" }),
    occurredAt: z.string().openapi({ format: "date-time" }),
    receivedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("FaxReceipt");

export const UnattributedSchema = z
  .object({
    provider: z.string(),
    faxId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    pageCount: z.number().int(),
    occurredAt: z.string(),
    parkedAt: z.string(),
  })
  .openapi("UnattributedFaxEvent");

export const FaxRegisteredSchema = z.object({ fax: FaxSchema, billed: z.boolean(), reservation: FaxReservationSchema });
export const FaxRecordSchema = z.object({ fax: BilledFaxSchema, reservation: FaxReservationSchema, receipts: z.array(ReceiptSchema) });

const register = createRoute({
  method: "post",
  path: "/v1/faxes",
  tags: ["faxes"],
  summary: "Register an outgoing fax's subject",
  description:
    "Tells tally whom to bill for a fax whose webhook does not name the subject. A delivery already parked for it is billed now, once. With `reservePages`, the pages are held against the subject's `fax` limit while the fax's outcome is unknown (none is taken for a fax already delivered or failed). Registering the same fax again changes nothing, whatever its `reservePages`: the first hold stands. Another subject answers 409.",
  security: requiresScope("admin"),
  request: jsonBody(FaxInput),
  responses: {
    200: json(FaxRegisteredSchema, "Registered (billed: a parked delivery was billed now)"),
    402: json(
      z.object({
        error: z.object({ code: z.literal("LIMIT_EXCEEDED"), message: z.string(), requestId: z.string(), details: DecisionSchema }),
      }),
      "The hold does not fit the subject's hard limit; nothing registered",
    ),
    ...errorResponses(409, 413, 415, 503),
  },
});

const read = createRoute({
  method: "get",
  path: "/v1/faxes/{provider}/{faxId}",
  tags: ["faxes"],
  summary: "A fax, whom it is billed to and every event received for it",
  description:
    "A fax is billed once, to the first subject a delivery attributes it to; a delivery naming another subject is answered `already_billed` with reason ATTRIBUTION_CONFLICT, billed nothing, and its receipt keeps the subject it named (`attributionConflict`).",
  security: requiresScope("admin"),
  request: { params: z.object({ provider: Provider, faxId: FaxId }) },
  responses: {
    200: json(FaxRecordSchema, "The fax, its bill, its hold and its receipts (oldest first)"),
    ...errorResponses(404),
  },
});

const unattributed = createRoute({
  method: "get",
  path: "/v1/webhooks/unattributed",
  tags: ["faxes"],
  summary: "Delivered faxes waiting for their subject",
  security: requiresScope("admin"),
  request: {
    query: queryParameters({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().max(500).optional() }),
  },
  responses: {
    200: json(z.object({ data: z.array(UnattributedSchema), nextCursor: z.string().nullable() }), "Oldest first"),
    ...errorResponses(),
  },
});

export function registerFaxRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(register, async (c) => {
    const { reservePages, ...registration } = c.req.valid("json");
    const { fax, billed, reservation } = await registerFax(c.env, auditContext(c), { ...registration, reservePages: reservePages ?? null });
    return c.json({ fax: toPublicFax(fax), billed, reservation: reservation && toPublicReservation(reservation) }, 200);
  });

  app.openapi(read, async (c) => {
    const { provider, faxId } = c.req.valid("param");
    return c.json(toPublicRecord(await getFax(c.env, provider, faxId)), 200);
  });

  app.openapi(unattributed, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const after = cursor === undefined ? undefined : unattributedCursor.decode(cursor);
    const rows = await listUnattributedFaxes(c.env, limit + 1, after && { parkedAt: after.at, faxId: after.id });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return c.json(
      {
        data: page.map(toPublic),
        nextCursor: rows.length > limit && last ? unattributedCursor.encode({ at: last.parkedAt, id: last.faxId }) : null,
      },
      200,
    );
  });
}

function toPublic(p: ParkedEvent) {
  return {
    provider: p.provider,
    faxId: p.faxId,
    eventId: p.eventId,
    eventType: p.eventType,
    pageCount: p.pageCount,
    occurredAt: new Date(p.occurredAt).toISOString(),
    parkedAt: new Date(p.parkedAt).toISOString(),
  };
}

function toPublicFax(fax: FaxRow) {
  return {
    provider: fax.provider,
    faxId: fax.faxId,
    subjectId: fax.subjectId,
    direction: fax.direction,
    status: fax.status,
    pageCount: fax.pageCount,
    failureReason: fax.failureReason,
  };
}

const isoOrNull = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

function toPublicRecord({ fax, bill, reservation, receipts }: FaxRecord) {
  return {
    fax: {
      ...toPublicFax(fax),
      billedSubjectId: bill?.subjectId ?? null,
      billedPages: bill?.pages ?? null,
      billedAt: isoOrNull(bill?.billedAt),
    },
    reservation: reservation && toPublicReservation(reservation),
    receipts: receipts.map((r) => ({
      eventId: r.eventId,
      eventType: r.eventType,
      status: r.status,
      pageCount: r.pageCount,
      failureReason: r.failureReason,
      attributionConflict: r.attributionConflict,
      occurredAt: new Date(r.occurredAt).toISOString(),
      receivedAt: new Date(r.receivedAt).toISOString(),
    })),
  };
}
