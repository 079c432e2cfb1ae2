import { DomainError } from "../domain/errors";
import type { StoredEvent } from "../domain/stored-event";
import { historyStore } from "../history/history-store";

export async function getUsageEvent(env: Env, id: string): Promise<StoredEvent> {
  const event = await historyStore(env).find(id);
  if (!event) {
    throw new DomainError(
      "NOT_FOUND",
      "No such usage event (history may lag recording by a second or two; events of archived days, older than the hot window, are not found by id).",
    );
  }
  return event;
}
