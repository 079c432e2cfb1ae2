/** Who made a change: the root key (`SERVICE_API_KEY`) or an API key by id. */
export type AuditActor = { type: "root"; id: null } | { type: "api_key"; id: string };

/** What every configuration write carries down to its service, to be written in the audit log. */
export interface AuditContext {
  actor: AuditActor;
  requestId: string | null;
}

export interface AuditChange {
  action: string;
  target: { type: string; id: string };
  before: unknown;
  after: unknown;
  /** Given when a retried write must not be logged twice (a replayed grant, say). */
  id?: string;
}

/**
 * A record as the audit log keeps it: epoch-millisecond `…At` fields as ISO times (as the API
 * shows them), nothing else changed. Secrets must be left out by the caller.
 */
export function auditSnapshot(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      key,
      key.endsWith("At") && typeof field === "number" && Number.isFinite(field) ? new Date(field).toISOString() : field,
    ]),
  );
}
