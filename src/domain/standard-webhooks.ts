/**
 * Signing per the Standard Webhooks spec: `webhook-signature: v1,<base64 HMAC-SHA256>` over
 * `${webhook-id}.${webhook-timestamp}.${body}`, keyed with the bytes of the base64 part of a
 * `whsec_…` secret. Any Standard Webhooks library verifies what this signs.
 */
export const SECRET_PREFIX = "whsec_";

export function newWebhookSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** An endpoint's secrets: the current one and, during a rotation's overlap, the one before it. */
export interface EndpointSecrets {
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
}

/** When the previous secret stops signing; null when there is none or its overlap is over. */
export function secretOverlapEndsAt(secrets: EndpointSecrets, nowMs: number): number | null {
  const until = secrets.previousSecretExpiresAt;
  return secrets.previousSecret !== null && until !== null && until > nowMs ? until : null;
}

/** The secrets a delivery is signed with now: the current one first. */
export function signingSecrets(secrets: EndpointSecrets, nowMs: number): string[] {
  return secretOverlapEndsAt(secrets, nowMs) === null ? [secrets.secret] : [secrets.secret, secrets.previousSecret!];
}

/**
 * The `webhook-signature` value: one `v1,<mac>` per secret, space-separated. Receivers accept a
 * delivery when any of them verifies, so one still holding the old secret keeps working.
 */
export async function signatureHeader(secrets: string[], id: string, timestampSeconds: number, body: string): Promise<string> {
  const signatures = await Promise.all(secrets.map((secret) => signWebhook(secret, id, timestampSeconds, body)));
  return signatures.join(" ");
}

async function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  const keyBytes = Uint8Array.from(atob(secret.slice(SECRET_PREFIX.length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** A record with secrets, as it may be logged: without them (when the old one stops signing stays). */
export function withoutSecrets<T extends EndpointSecrets>(record: T): Omit<T, "secret" | "previousSecret"> {
  const { secret: _secret, previousSecret: _previous, ...rest } = record;
  return rest;
}
