import { z } from "zod";
import { NOTIFICATION_TYPES } from "./notifications";
import { SubjectId } from "./usage-event";

/**
 * Work the cron jobs fan out through the usage-events queue, so each invocation stays small:
 * a scan walks one page of subjects and enqueues one task each, plus the next page.
 */
export const TaskMessage = z.discriminatedUnion("task", [
  z.object({
    task: z.literal("scan-subjects"),
    job: z.enum(["close-periods", "reconcile"]),
    after: z.string(),
    asOf: z.number(),
    runId: z.string(),
  }),
  z.object({ task: z.literal("close-periods"), subjectId: SubjectId, asOf: z.number() }),
  z.object({ task: z.literal("reconcile"), subjectId: SubjectId, runId: z.string() }),
  /** Archive the oldest due day of history from `afterDay` (UTC day number) on, then enqueue the next. */
  z.object({ task: z.literal("archive-history"), asOf: z.number(), afterDay: z.number().int().nonnegative() }),
]);
export type TaskMessage = z.infer<typeof TaskMessage>;

export function isTaskMessage(body: unknown): boolean {
  return typeof body === "object" && body !== null && "task" in body;
}

/** A usage message is any accepted event shape, optionally with `"mode": "consume"` (apply the limit). */
export function splitMode(body: unknown): { mode: "record" | "consume"; event: unknown } | { invalidMode: unknown } {
  if (typeof body !== "object" || body === null || Array.isArray(body) || !("mode" in body)) return { mode: "record", event: body };
  const { mode, ...event } = body as Record<string, unknown>;
  return mode === "consume" || mode === "record" ? { mode, event } : { invalidMode: mode };
}

/** Exponential back-off from the delivery count: 5 s, 10 s, 20 s … at most 10 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(600, 5 * 2 ** Math.max(0, attempts - 1));
}

const NotificationSchema = z.object({
  id: z.string(),
  type: z.enum(NOTIFICATION_TYPES),
  subjectId: z.string(),
  createdAt: z.number(),
  payload: z.record(z.string(), z.any()),
});

/** A notification to fan out, or one delivery of it to one endpoint (retried on its own). */
export const NotifyMessage = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("notify"), notification: NotificationSchema }),
  z.object({ kind: z.literal("deliver"), notification: NotificationSchema, endpointId: z.string() }),
]);
export type NotifyMessage = z.infer<typeof NotifyMessage>;
/** `max_retries` of the usage-events consumer in wrangler.toml (test/node/queue-settings.test.ts keeps them equal). */
export const USAGE_QUEUE_MAX_RETRIES = 5;

/**
 * Deliveries of a message that reached the usage-events DLQ, in all: the first delivery and every
 * retry on usage-events, then the DLQ's own, whose `attempts` starts again at 1.
 */
export function attemptsWithDeadLetterQueue(deadLetterQueueAttempts: number): number {
  return USAGE_QUEUE_MAX_RETRIES + 1 + (deadLetterQueueAttempts - 1);
}
