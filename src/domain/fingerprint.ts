import { createHash } from "node:crypto";
import type { EventDraft } from "./usage-event";

/**
 * What "the same body" means for idempotency: the event as the caller stated it. A timestamp the
 * server filled in is left out, so a retry a second later is still the same event. Synchronous
 * (node:crypto) because it runs for every event of every batch.
 */
export function fingerprintEvent(draft: EventDraft): string {
  return fingerprintOf(draft);
}

/** The same for any request stated as JSON (a reserve, a grant): equal values, equal fingerprints. */
export function fingerprintOf(value: unknown): string {
  return createHash("sha256").update(stableStringify(value)).digest("hex");
}

/** JSON with object keys sorted at every level, so equal values always serialise alike. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const keys = Object.keys(value).sort();
  let out = "";
  for (const key of keys) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    out += `${out === "" ? "" : ","}${JSON.stringify(key)}:${stableStringify(item)}`;
  }
  return `{${out}}`;
}
