import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { DomainError } from "../domain/errors";
import { toPublicEvent } from "../domain/stored-event";
import { toEventDraft, type EventDraft } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireService } from "../http/auth";
import { recordUsage } from "../ledger/record-usage";
import {
  BatchInputSchema,
  bearerAuth,
  errorResponses,
  EventInputSchema,
  EventSchema,
  IdempotencyHeaderSchema,
  json,
  jsonBody,
} from "./schemas";

const RecordedSchema = z
  .object({ event: EventSchema, status: z.enum(["created", "duplicate"]) })
  .openapi("RecordedUsage");

const BatchResultSchema = z
  .object({
    results: z.array(
      z.object({
        index: z.number().int(),
        id: z.string().nullable(),
        status: z.enum(["created", "duplicate", "rejected"]),
        error: z.object({ code: z.string(), message: z.string() }).optional(),
      }),
    ),
  })
  .openapi("UsageBatchResult");

const recordOne = createRoute({
  method: "post",
  path: "/v1/usage",
  tags: ["usage"],
  summary: "Record one usage event",
  description:
    "Counted at once in the subject's ledger; in history within seconds. Same idempotency key and body again: 200 duplicate with the original event.",
  security: bearerAuth,
  request: { headers: IdempotencyHeaderSchema, ...jsonBody(EventInputSchema) },
  responses: {
    201: json(RecordedSchema, "Recorded"),
    200: json(RecordedSchema, "Replay of an already recorded event"),
    ...errorResponses(409, 413, 415, 422, 503),
  },
});

const recordBatch = createRoute({
  method: "post",
  path: "/v1/usage/batch",
  tags: ["usage"],
  summary: "Record 1–1000 usage events",
  description:
    "A malformed item fails the whole request (400, nothing written). Items that break a rule (unknown meter, unit, time window, key conflict) are rejected one by one. Retrying the whole batch is safe for events with idempotency keys.",
  security: bearerAuth,
  request: { headers: IdempotencyHeaderSchema, ...jsonBody(BatchInputSchema) },
  responses: { 200: json(BatchResultSchema, "One result per event, in order"), ...errorResponses(413, 415) },
});

export function registerUsageWriteRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(recordOne, async (c) => {
    requireService(c);
    const draft = withHeaderKey(toEventDraft(c.req.valid("json")), c.req.valid("header")["idempotency-key"]);
    const [result] = await recordUsage(c.env, [draft], "api");
    if (result!.status === "rejected") {
      const { code, message } = result!.error;
      throw new DomainError(code, message, result!.event ? { originalEventId: result!.event.id } : undefined);
    }
    return c.json({ event: toPublicEvent(result!.event), status: result!.status }, result!.status === "created" ? 201 : 200);
  });

  app.openapi(recordBatch, async (c) => {
    requireService(c);
    const headerKey = c.req.valid("header")["idempotency-key"];
    const drafts = c.req
      .valid("json")
      .events.map((input, index) => withHeaderKey(toEventDraft(input), headerKey && `${headerKey}:${index}`));
    const results = await recordUsage(c.env, drafts, "batch");
    return c.json(
      {
        results: results.map((r) =>
          r.status === "rejected"
            ? { index: r.index, id: null, status: r.status, error: r.error }
            : { index: r.index, id: r.event.id, status: r.status },
        ),
      },
      200,
    );
  });
}

function withHeaderKey(draft: EventDraft, headerKey: string | undefined): EventDraft {
  return draft.idempotencyKey !== undefined || !headerKey ? draft : { ...draft, idempotencyKey: headerKey };
}
