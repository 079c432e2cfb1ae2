import type { EventDraft } from "./usage-event";

/**
 * What "the same body" means for idempotency: the event as the caller stated it. A timestamp the
 * server filled in is left out, so a retry a second later is still the same event.
 */
export async function fingerprintEvent(draft: EventDraft): Promise<string> {
  const bytes = new TextEncoder().encode(stableStringify(draft));
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** JSON with object keys sorted at every level, so equal values always serialise alike. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
}
