import { database } from "../db/database";
import { listDeadLetters as deadLetterRows, type DeadLetterRow } from "../db/dead-letters";

/** Dead letters newest first, after the cursor row. */
export async function listDeadLetters(env: Env, limit: number, before?: { at: number; id: string }): Promise<DeadLetterRow[]> {
  return deadLetterRows(database(env.DB), limit, before);
}
