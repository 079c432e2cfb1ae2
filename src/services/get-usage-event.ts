import { database } from "../db/database";
import { findEvent } from "../db/usage-events";
import { DomainError } from "../domain/errors";
import type { StoredEvent } from "../domain/stored-event";

export async function getUsageEvent(env: Env, id: string): Promise<StoredEvent> {
  const event = await findEvent(database(env.DB), id);
  if (!event) throw new DomainError("NOT_FOUND", "No such usage event (history may lag recording by a second or two).");
  return event;
}
