import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { DeadLetterRow } from "../db/dead-letters";
import { DEAD_LETTER_STATUSES } from "../domain/dead-letters";
import { wellFormedString } from "../domain/well-formed";
import type { AppEnv } from "../http/app-env";
import { auditContext } from "../http/auth";
import { dismissDeadLetter } from "../services/dismiss-dead-letter";
import { listDeadLetters } from "../services/list-dead-letters";
import { replayDeadLetter } from "../services/replay-dead-letter";
import { deadLetterCursor } from "./cursor";
import { createRoute, errorResponses, json, queryParameters, requiresScope } from "./schemas";

export const DeadLetterSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    messageId: z.string(),
    reason: z.string(),
    detail: z.string(),
    attempts: z.number().int(),
    body: z.unknown(),
    createdAt: z.string(),
    replayedAt: z.string().nullable(),
    replayStatus: z.string().nullable(),
    dismissedAt: z.string().nullable(),
    status: z.enum(DEAD_LETTER_STATUSES).openapi({
      description: "`replayed` once a replay applied it (or found it applied), else `dismissed` once dismissed, else `open`",
    }),
  })
  .openapi("DeadLetter");

export const DeadLetterReplayedSchema = z.object({
  deadLetter: DeadLetterSchema,
  result: z.object({
    status: z.enum(["applied", "duplicate", "rejected"]),
    eventId: z.string().optional(),
    reason: z.string().optional(),
    detail: z.string().optional(),
  }),
});

const list = createRoute({
  method: "get",
  path: "/v1/dead-letters",
  tags: ["queues"],
  summary: "Queue messages that could not be applied, newest first",
  description: "Every dead letter, or only those of `status`.",
  security: requiresScope("admin"),
  request: {
    query: queryParameters({
      status: z.enum(DEAD_LETTER_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(500).optional(),
    }),
  },
  responses: {
    200: json(z.object({ data: z.array(DeadLetterSchema), nextCursor: z.string().nullable() }), "One page"),
    ...errorResponses(),
  },
});

const DeadLetterParams = z.object({ id: wellFormedString().min(1).max(100) });

const dismiss = createRoute({
  method: "post",
  path: "/v1/dead-letters/{id}/dismiss",
  tags: ["queues"],
  summary: "Set a dead letter aside",
  description:
    "For a message no one will replay: kept for the record, no longer `open`. Dismissing again, or dismissing a replayed letter, answers it unchanged. A dismissed letter can still be replayed.",
  security: requiresScope("admin"),
  request: { params: DeadLetterParams },
  responses: { 200: json(z.object({ deadLetter: DeadLetterSchema }), "The dead letter as it is now"), ...errorResponses(404) },
});

const replay = createRoute({
  method: "post",
  path: "/v1/dead-letters/{id}/replay",
  tags: ["queues"],
  summary: "Apply a dead letter again",
  description:
    "Runs the message through the same path as the queue consumer, with the same idempotency key, so replaying a message that was applied meanwhile changes nothing. `status` says what happened now.",
  security: requiresScope("admin"),
  request: { params: DeadLetterParams },
  responses: {
    200: json(DeadLetterReplayedSchema, "Replayed"),
    ...errorResponses(404, 503),
  },
});

export function registerDeadLetterRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(list, async (c) => {
    const { status, limit, cursor } = c.req.valid("query");
    const rows = await listDeadLetters(c.env, limit + 1, cursor === undefined ? undefined : deadLetterCursor.decode(cursor), status);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return c.json(
      {
        data: page.map(toPublic),
        nextCursor: rows.length > limit && last ? deadLetterCursor.encode({ at: last.createdAt, id: last.id }) : null,
      },
      200,
    );
  });

  app.openapi(replay, async (c) => {
    const { deadLetter, result } = await replayDeadLetter(c.env, auditContext(c), c.req.valid("param").id);
    return c.json({ deadLetter: toPublic(deadLetter), result }, 200);
  });

  app.openapi(dismiss, async (c) => {
    return c.json({ deadLetter: toPublic(await dismissDeadLetter(c.env, auditContext(c), c.req.valid("param").id)) }, 200);
  });
}

function toPublic(row: DeadLetterRow) {
  return {
    id: row.id,
    queue: row.queue,
    messageId: row.messageId,
    reason: row.reason,
    detail: row.detail,
    attempts: row.attempts,
    body: JSON.parse(row.body) as unknown,
    createdAt: new Date(row.createdAt).toISOString(),
    replayedAt: iso(row.replayedAt),
    replayStatus: row.replayStatus,
    dismissedAt: iso(row.dismissedAt),
    status: row.status,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
