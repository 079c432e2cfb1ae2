import { database } from "../db/database";
import { listHistory as historyRows, type HistoryCursor, type HistoryFilter } from "../db/usage-events";
import type { StoredEvent } from "../domain/stored-event";

/** A page of D1 history, newest first (eventually consistent: usually within 2 s of recording). */
export async function listHistory(env: Env, filter: HistoryFilter, limit: number, after?: HistoryCursor): Promise<StoredEvent[]> {
  return historyRows(database(env.DB), filter, limit, after);
}
