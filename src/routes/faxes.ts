import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { ParkedEvent } from "../db/faxes";
import { FaxId } from "../domain/fax";
import { SubjectId } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireService } from "../http/auth";
import { listUnattributedFaxes } from "../services/list-unattributed-faxes";
import { registerFax } from "../services/register-fax";
import { unattributedCursor } from "./cursor";
import { bearerAuth, createRoute, errorResponses, json, jsonBody, queryParameters } from "./schemas";

const FaxInput = z
  .strictObject({ provider: z.enum(["telnyx", "notifyre"]), faxId: FaxId, subjectId: SubjectId })
  .openapi("FaxRegistration");

const FaxSchema = z
  .object({
    provider: z.enum(["telnyx", "notifyre"]),
    faxId: z.string(),
    subjectId: z.string().nullable(),
    direction: z.string().nullable(),
    status: z.string().nullable(),
    pageCount: z.number().int().nullable(),
    failureReason: z.string().nullable(),
  })
  .openapi("Fax");

const UnattributedSchema = z
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

const register = createRoute({
  method: "post",
  path: "/v1/faxes",
  tags: ["faxes"],
  summary: "Register an outgoing fax's subject",
  description:
    "Tells tally whom to bill for a fax whose webhook does not name the subject. A delivery already parked for it is billed now, once. Registering the same fax again changes nothing; another subject answers 409.",
  security: bearerAuth,
  request: jsonBody(FaxInput),
  responses: {
    200: json(z.object({ fax: FaxSchema, billed: z.boolean() }), "Registered (billed: a parked delivery was billed now)"),
    ...errorResponses(409, 413, 415, 503),
  },
});

const unattributed = createRoute({
  method: "get",
  path: "/v1/webhooks/unattributed",
  tags: ["faxes"],
  summary: "Delivered faxes waiting for their subject",
  security: bearerAuth,
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
    requireService(c);
    const { provider, faxId, subjectId } = c.req.valid("json");
    const { fax, billed } = await registerFax(c.env, provider, faxId, subjectId);
    return c.json(
      {
        fax: {
          provider: fax.provider,
          faxId: fax.faxId,
          subjectId: fax.subjectId,
          direction: fax.direction,
          status: fax.status,
          pageCount: fax.pageCount,
          failureReason: fax.failureReason,
        },
        billed,
      },
      200,
    );
  });

  app.openapi(unattributed, async (c) => {
    requireService(c);
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
