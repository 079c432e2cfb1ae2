import type { HistoryCursor, HistoryFilter } from "../domain/history-queries";
import type { StoredEvent } from "../domain/stored-event";
import { historyStore } from "../history/history-store";

/** A page of history, newest first (eventually consistent: usually within 2 s of recording). */
export async function listHistory(env: Env, filter: HistoryFilter, limit: number, after?: HistoryCursor): Promise<StoredEvent[]> {
  return historyStore(env).list(filter, limit, after);
}
