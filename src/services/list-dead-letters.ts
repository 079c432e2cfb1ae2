import { database } from "../db/database";
import { listDeadLetters as deadLetterRows, type DeadLetterRow } from "../db/dead-letters";
import type { DeadLetterStatus } from "../domain/dead-letters";

/** Dead letters newest first, after the cursor row; only those of `status` when given. */
export async function listDeadLetters(
  env: Env,
  limit: number,
  before: { at: number; id: string } | undefined,
  status: DeadLetterStatus | undefined,
): Promise<DeadLetterRow[]> {
  return deadLetterRows(database(env.DB), limit, before, status);
}
