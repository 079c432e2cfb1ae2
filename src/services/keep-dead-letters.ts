import { insertDeadLetters, type NewDeadLetter } from "../db/dead-letters";

/** Keeps queue messages that could not be applied, with why, to be listed and replayed; all or none. */
export async function keepDeadLetters(env: Env, letters: NewDeadLetter[], nowMs = Date.now()): Promise<void> {
  if (letters.length === 0) return;
  await insertDeadLetters(env.DB, letters, nowMs);
}
