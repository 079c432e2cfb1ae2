import { database } from "../db/database";
import { endpointsFor, recordPendingDeliveries } from "../db/webhook-endpoints";
import type { Notification } from "../domain/notifications";
import type { NotifyMessage } from "../domain/queue-messages";

/** One delivery message per subscribed endpoint, each logged as pending first. */
export async function fanOutNotification(env: Env, notification: Notification): Promise<void> {
  const endpoints = await endpointsFor(database(env.DB), notification.type);
  if (endpoints.length === 0) return;
  const now = Date.now();
  await recordPendingDeliveries(
    env.DB,
    endpoints.map((e) => e.id),
    notification,
    now,
  );
  const messages = endpoints.map((e) => ({ body: { kind: "deliver", notification, endpointId: e.id } satisfies NotifyMessage }));
  for (let i = 0; i < messages.length; i += 100) await env.NOTIFY_QUEUE.sendBatch(messages.slice(i, i + 100));
}
