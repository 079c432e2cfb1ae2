import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { DomainError } from "../domain/errors";
import { toPublicEvent } from "../domain/stored-event";
import { toEventDraft, type EventDraft, type UsageEventInput } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { enqueueUsage } from "../services/enqueue-usage";
import { recordUsage } from "../services/record-usage";
import {
  BatchInputSchema,
  createRoute,
  errorResponses,
  EventInputSchema,
  EventSchema,
  IdempotencyHeaderSchema,
  json,
  jsonBody,
  requiresScope,
} from "./schemas";

export const RecordedSchema = z.object({ event: EventSchema, status: z.enum(["created", "duplicate"]) }).openapi("RecordedUsage");

export const EnqueuedSchema = z.object({ enqueued: z.number().int() }).openapi("Enqueued");

export const BatchResultSchema = z
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
  security: requiresScope("usage:write"),
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
  security: requiresScope("usage:write"),
  request: { headers: IdempotencyHeaderSchema, ...jsonBody(BatchInputSchema) },
  responses: { 200: json(BatchResultSchema, "One result per event, in order"), ...errorResponses(413, 415) },
});

const recordAsync = createRoute({
  method: "post",
  path: "/v1/usage/async",
  tags: ["usage"],
  summary: "Enqueue 1–1000 usage events",
  description:
    "Validated, then sent through the usage-events queue and applied within seconds. Events without an idempotency key get one now, so queue redeliveries count once. Events that break a rule when applied (unknown meter, unit, time window) become dead letters (GET /v1/dead-letters).",
  security: requiresScope("usage:write"),
  request: { headers: IdempotencyHeaderSchema, ...jsonBody(BatchInputSchema) },
  responses: {
    202: json(EnqueuedSchema, "Accepted for the queue"),
    ...errorResponses(413, 415),
  },
});

export function registerUsageWriteRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(recordAsync, async (c) => {
    const enqueued = await enqueueUsage(c.env, withHeaderKeys(c.req.valid("json").events, c.req.valid("header")["idempotency-key"]));
    return c.json({ enqueued }, 202);
  });

  app.openapi(recordOne, async (c) => {
    const draft = withHeaderKey(toEventDraft(c.req.valid("json")), c.req.valid("header")["idempotency-key"]);
    const [result] = await recordUsage(c.env, [draft], "api");
    if (result!.status === "rejected") {
      const { code, message } = result!.error;
      throw new DomainError(code, message, result!.event ? { originalEventId: result!.event.id } : undefined);
    }
    return c.json({ event: toPublicEvent(result!.event), status: result!.status }, result!.status === "created" ? 201 : 200);
  });

  app.openapi(recordBatch, async (c) => {
    const drafts = withHeaderKeys(c.req.valid("json").events, c.req.valid("header")["idempotency-key"]);
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

/** A batch's drafts; the header key stands for each keyless event's key, suffixed with its index. */
function withHeaderKeys(inputs: UsageEventInput[], headerKey: string | undefined): EventDraft[] {
  return inputs.map((input, index) => withHeaderKey(toEventDraft(input), headerKey && `${headerKey}:${index}`));
}

function withHeaderKey(draft: EventDraft, headerKey: string | undefined): EventDraft {
  return draft.idempotencyKey !== undefined || !headerKey ? draft : { ...draft, idempotencyKey: headerKey };
}
