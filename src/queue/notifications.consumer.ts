import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { endpointsFor, findEndpoint, pendingDeliveryStatement, recordAttempt } from "../db/webhook-endpoints";
import { deliveryRetryDelaySeconds, NOTIFICATION_TYPES, type Notification } from "../domain/notifications";
import { outboundUrlPolicy } from "../domain/outbound-url";
import { log } from "../http/log";
import { sendWebhook } from "./webhook-delivery";

export const NOTIFY_QUEUE_NAME = "notifications";
export const NOTIFY_DLQ_NAME = "notifications-dlq";

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

export async function consumeNotifications(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = NotifyMessage.safeParse(message.body);
    if (!parsed.success) {
      log("error", "notify.invalid_message", { id: message.id });
      message.ack();
      continue;
    }
    try {
      if (parsed.data.kind === "notify") await fanOut(env, parsed.data.notification as Notification);
      else if (!(await deliver(env, parsed.data.notification as Notification, parsed.data.endpointId))) {
        message.retry({ delaySeconds: deliveryRetryDelaySeconds(message.attempts) });
        continue;
      }
      message.ack();
    } catch (error) {
      log("warn", "notify.failed", { id: message.id, error: String(error) });
      message.retry({ delaySeconds: deliveryRetryDelaySeconds(message.attempts) });
    }
  }
}

/** One delivery message per subscribed endpoint, each logged as pending first. */
async function fanOut(env: Env, notification: Notification): Promise<void> {
  const endpoints = await endpointsFor(drizzle(env.DB), notification.type);
  if (endpoints.length === 0) return;
  const now = Date.now();
  await env.DB.batch(endpoints.map((e) => pendingDeliveryStatement(env.DB, e.id, notification.id, notification.type, now)));
  const messages = endpoints.map((e) => ({ body: { kind: "deliver", notification, endpointId: e.id } satisfies NotifyMessage }));
  for (let i = 0; i < messages.length; i += 100) await env.NOTIFY_QUEUE.sendBatch(messages.slice(i, i + 100));
}

/** True when delivered (or there is nothing a retry could deliver to); false asks for a retry. */
async function deliver(env: Env, notification: Notification, endpointId: string): Promise<boolean> {
  const deliveryId = `${notification.id}:${endpointId}`;
  const endpoint = await findEndpoint(drizzle(env.DB), endpointId);
  if (!endpoint) {
    await recordAttempt(
      env.DB,
      deliveryId,
      { status: "failed", statusCode: null, error: "endpoint deleted", countAttempt: false },
      Date.now(),
    );
    return true;
  }
  const result = await sendWebhook(endpoint, notification, outboundUrlPolicy(env));
  const status = result.ok ? "succeeded" : result.retryable ? "pending" : "failed";
  await recordAttempt(env.DB, deliveryId, { status, statusCode: result.statusCode, error: result.error, countAttempt: true }, Date.now());
  log(result.ok ? "info" : "warn", "notify.delivery", {
    deliveryId,
    type: notification.type,
    statusCode: result.statusCode,
    error: result.error,
  });
  return result.ok || !result.retryable;
}

/** Deliveries the queue gave up on: the log says so, keeping the last answer. */
export async function consumeNotificationDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = NotifyMessage.safeParse(message.body);
    if (parsed.success && parsed.data.kind === "deliver") {
      const deliveryId = `${parsed.data.notification.id}:${parsed.data.endpointId}`;
      await env.DB.prepare(
        `UPDATE webhook_deliveries SET status = 'failed', last_error = 'retries exhausted; last: ' || coalesce(last_error, 'none'),
           updated_at = ? WHERE id = ? AND status != 'succeeded'`,
      )
        .bind(Date.now(), deliveryId)
        .run();
      log("error", "notify.gave_up", { deliveryId, attempts: message.attempts });
    }
  }
  batch.ackAll();
}
