import { database } from "../db/database";
import { listUnattributed, type ParkedEvent } from "../db/faxes";

/** Parked billable events still waiting for their fax to be registered, oldest first. */
export async function listUnattributedFaxes(env: Env, limit: number, after?: { parkedAt: number; faxId: string }): Promise<ParkedEvent[]> {
  return listUnattributed(database(env.DB), limit, after);
}
