import type { TaskMessage } from "../domain/queue-messages";

/** Starts the monthly rollover by enqueueing the first page of its subject scan. Answers the run id. */
export async function startRollover(env: Env, asOf: number): Promise<string> {
  const runId = `rollover-${new Date(asOf).toISOString()}`;
  await env.USAGE_QUEUE.send({ task: "scan-subjects", job: "close-periods", after: "", asOf, runId } satisfies TaskMessage);
  return runId;
}
