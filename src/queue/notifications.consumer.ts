import { deliveryIdOf, deliveryRetryDelaySeconds, type Notification } from "../domain/notifications";
import { NotifyMessage } from "../domain/queue-messages";
import { log } from "../http/log";
import { abandonDelivery } from "../services/abandon-delivery";
import { deliverNotification } from "../services/deliver-notification";
import { fanOutNotification } from "../services/fan-out-notification";

export const NOTIFY_QUEUE_NAME = "notifications";
export const NOTIFY_DLQ_NAME = "notifications-dlq";

export async function consumeNotifications(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = NotifyMessage.safeParse(message.body);
    if (!parsed.success) {
      log("error", "notify.invalid_message", { id: message.id });
      message.ack();
      continue;
    }
    try {
      if (parsed.data.kind === "notify") await fanOutNotification(env, parsed.data.notification as Notification);
      else if (!(await deliverNotification(env, parsed.data.notification as Notification, parsed.data.endpointId))) {
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

/** Deliveries the queue gave up on: the log says so, keeping the last answer. */
export async function consumeNotificationDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = NotifyMessage.safeParse(message.body);
    if (parsed.success && parsed.data.kind === "deliver") {
      const deliveryId = deliveryIdOf(parsed.data.notification.id, parsed.data.endpointId);
      await abandonDelivery(env, deliveryId);
      log("error", "notify.gave_up", { deliveryId, attempts: message.attempts });
    }
  }
  batch.ackAll();
}
