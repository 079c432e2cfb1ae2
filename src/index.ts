import { createApp } from "./app";
import { runScheduled } from "./cron/schedule";
import { consumeDeadLetterQueue, USAGE_DLQ_NAME } from "./queue/dead-letters.consumer";
import { consumeUsageEvents } from "./queue/usage-events.consumer";

export { SubjectLedger } from "./ledger/subject-ledger";

const app = createApp();

const handler: ExportedHandler<Env> = {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue === USAGE_DLQ_NAME) return consumeDeadLetterQueue(batch, env);
    return consumeUsageEvents(batch, env);
  },
  async scheduled(controller, env) {
    await runScheduled(controller, env);
  },
};

export default handler as Required<Pick<ExportedHandler<Env>, "fetch" | "queue" | "scheduled">>;
