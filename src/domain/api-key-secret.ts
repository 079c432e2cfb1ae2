/** Every API key secret starts with this, so a leaked one is easy to find and to tell from a JWT. */
export const API_KEY_PREFIX = "tly_";

/** How many characters of a secret are shown back (`tly_` and 8 more): enough to tell keys apart. */
const VISIBLE_LENGTH = 12;

/** `tly_` and 256 random bits in base64url: guessing one is out of reach, so a plain hash suffices. */
export function generateApiKeySecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return API_KEY_PREFIX + base64.replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

export function visiblePrefix(secret: string): string {
  return secret.slice(0, VISIBLE_LENGTH);
}

/** Lowercase hex SHA-256 of the whole secret: what is stored and looked up. */
export async function hashApiKeySecret(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function newApiKeyId(): string {
  return `key_${crypto.randomUUID().replaceAll("-", "")}`;
}
