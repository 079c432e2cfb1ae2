import { runTask } from "../cron/tasks";
import { isTaskMessage, retryDelaySeconds, TaskMessage } from "../domain/queue-messages";
import { log } from "../http/log";
import { applyUsageMessages } from "../services/apply-usage-messages";
import { keepDeadLetters } from "../services/keep-dead-letters";

export const USAGE_QUEUE_NAME = "usage-events";

/**
 * Consumer of `usage-events`: usage messages are applied with one ledger call per subject;
 * applied and duplicate messages are acked, refused ones are acked and kept as dead letters,
 * and ones that met an unreachable ledger are retried with a growing delay. Cron tasks that
 * travel on the same queue are run one by one.
 */
export async function consumeUsageEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const usage = batch.messages.filter((m) => !isTaskMessage(m.body));
  const tasks = batch.messages.filter((m) => isTaskMessage(m.body));
  const outcomes = await applyUsageMessages(
    env,
    usage.map((m) => ({ id: m.id, body: m.body })),
  );
  const counts = { applied: 0, duplicate: 0, dead: 0, retried: 0, tasks: tasks.length };

  const dead: { message: Message<unknown>; reason: string; detail: string }[] = [];
  usage.forEach((message, i) => {
    const outcome = outcomes[i]!;
    if (outcome.kind === "applied" || outcome.kind === "duplicate") {
      counts[outcome.kind] += 1;
      message.ack();
    } else if (outcome.kind === "retry") {
      counts.retried += 1;
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    } else {
      dead.push({ message, reason: outcome.reason, detail: outcome.detail });
    }
  });
  await ackAsDeadLetters(env, dead, counts);

  for (const message of tasks) {
    const task = TaskMessage.safeParse(message.body);
    if (!task.success) {
      await ackAsDeadLetters(env, [{ message, reason: "VALIDATION_FAILED", detail: "unknown task" }], counts);
      continue;
    }
    try {
      await runTask(env, task.data);
      message.ack();
    } catch (error) {
      log("warn", "queue.task_failed", { task: task.data.task, error: String(error) });
      counts.retried += 1;
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
  log("info", "queue.usage_events", { queue: batch.queue, messages: batch.messages.length, ...counts });
}

/** Acks refused messages once their dead letters are stored; if D1 cannot take them, they come back. */
async function ackAsDeadLetters(
  env: Env,
  dead: { message: Message<unknown>; reason: string; detail: string }[],
  counts: { dead: number; retried: number },
): Promise<void> {
  if (dead.length === 0) return;
  try {
    await keepDeadLetters(
      env,
      dead.map(({ message, reason, detail }) => ({
        queue: USAGE_QUEUE_NAME,
        messageId: message.id,
        reason,
        detail,
        attempts: message.attempts,
        body: message.body,
      })),
    );
    for (const { message } of dead) message.ack();
    counts.dead += dead.length;
  } catch (error) {
    log("error", "queue.dead_letter_write_failed", { messages: dead.length, error: String(error) });
    for (const { message } of dead) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    counts.retried += dead.length;
  }
}
