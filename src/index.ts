import { createApp } from "./app";
import { runScheduled } from "./cron/schedule";
import { consumeDeadLetterQueue, USAGE_DLQ_NAME } from "./queue/dead-letters.consumer";
import { consumeNotificationDeadLetters, consumeNotifications, NOTIFY_DLQ_NAME, NOTIFY_QUEUE_NAME } from "./queue/notifications.consumer";
import { consumeUsageEvents } from "./queue/usage-events.consumer";

export { HistoryWriter } from "./history/history-writer";
export { SubjectLedger } from "./ledger/subject-ledger";

const app = createApp();

const handler: ExportedHandler<Env> = {
  fetch: app.fetch,
  async queue(batch, env) {
    switch (batch.queue) {
      case USAGE_DLQ_NAME:
        return consumeDeadLetterQueue(batch, env);
      case NOTIFY_QUEUE_NAME:
        return consumeNotifications(batch, env);
      case NOTIFY_DLQ_NAME:
        return consumeNotificationDeadLetters(batch, env);
      default:
        return consumeUsageEvents(batch, env);
    }
  },
  async scheduled(controller, env) {
    await runScheduled(controller, env);
  },
};

export default handler as Required<Pick<ExportedHandler<Env>, "fetch" | "queue" | "scheduled">>;
