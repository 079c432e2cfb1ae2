import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { DomainError } from "../domain/errors";
import { toPublicEvent } from "../domain/stored-event";
import { toEventDraft, type EventDraft } from "../domain/usage-event";
import type { AppEnv } from "../http/app-env";
import { requireService } from "../http/auth";
import { recordUsage } from "../ledger/record-usage";
import {
  BatchInputSchema,
  bearerAuth,
  createRoute,
  errorResponses,
  EventInputSchema,
  EventSchema,
  IdempotencyHeaderSchema,
  json,
  jsonBody,
} from "./schemas";

export const RecordedSchema = z.object({ event: EventSchema, status: z.enum(["created", "duplicate"]) }).openapi("RecordedUsage");

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

const recordAsync = createRoute({
  method: "post",
  path: "/v1/usage/async",
  tags: ["usage"],
  summary: "Enqueue 1–1000 usage events",
  description:
    "Validated, then sent through the usage-events queue and applied within seconds. Events without an idempotency key get one now, so queue redeliveries count once. Events that break a rule when applied (unknown meter, unit, time window) become dead letters (GET /v1/dead-letters).",
  security: bearerAuth,
  request: { headers: IdempotencyHeaderSchema, ...jsonBody(BatchInputSchema) },
  responses: {
    202: json(z.object({ enqueued: z.number().int() }).openapi("Enqueued"), "Accepted for the queue"),
    ...errorResponses(413, 415),
  },
});

/** Queue messages: ≤ 100 per sendBatch and ≤ 256 KB in all; stay below with a margin. */
const MAX_MESSAGES_PER_SEND = 100;
const MAX_BYTES_PER_SEND = 200_000;

export function registerUsageWriteRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(recordAsync, async (c) => {
    requireService(c);
    const headerKey = c.req.valid("header")["idempotency-key"];
    const messages = c.req.valid("json").events.map((input, index) => {
      const draft = toEventDraft(input);
      const idempotencyKey = draft.idempotencyKey ?? (headerKey ? `${headerKey}:${index}` : `async:${crypto.randomUUID()}`);
      return { body: toCanonicalMessage({ ...draft, idempotencyKey }) };
    });
    let chunk: typeof messages = [];
    let bytes = 0;
    for (const message of messages) {
      const size = JSON.stringify(message.body).length;
      if (chunk.length === MAX_MESSAGES_PER_SEND || bytes + size > MAX_BYTES_PER_SEND) {
        await c.env.USAGE_QUEUE.sendBatch(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(message);
      bytes += size;
    }
    if (chunk.length > 0) await c.env.USAGE_QUEUE.sendBatch(chunk);
    return c.json({ enqueued: messages.length }, 202);
  });

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

/** The canonical event a draft stands for, as a queue message. */
function toCanonicalMessage(draft: EventDraft) {
  return {
    idempotencyKey: draft.idempotencyKey,
    subjectId: draft.subjectId,
    meter: draft.meter,
    amount: draft.amount,
    ...(draft.unit === undefined ? {} : { unit: draft.unit }),
    ...(draft.timestamp === undefined ? {} : { timestamp: new Date(draft.timestamp).toISOString() }),
    dimensions: draft.dimensions,
    metadata: draft.metadata,
  };
}

function withHeaderKey(draft: EventDraft, headerKey: string | undefined): EventDraft {
  return draft.idempotencyKey !== undefined || !headerKey ? draft : { ...draft, idempotencyKey: headerKey };
}
