/**
 * What an API key may do. `admin` is configuration and operations, not a superset: a key holds
 * every scope it needs, so a leaked dashboard key cannot record usage.
 */
export const SCOPES = ["usage:write", "usage:read", "entitlements:write", "admin"] as const;

export type Scope = (typeof SCOPES)[number];
