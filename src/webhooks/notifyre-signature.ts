import {
  bytesOf,
  checkWindow,
  DEFAULT_TOLERANCE_SECONDS,
  fail,
  parseUnixSeconds,
  type SignatureCheck,
} from "./telnyx-signature";

export interface NotifyreSignatureInput {
  rawBody: string | Uint8Array;
  headers: Headers;
  secret: string | undefined;
  nowMs: number;
  toleranceSeconds?: number;
}

/**
 * Notifyre sends `Notifyre-Signature: t=<unix s>,v=<hex>`: HMAC-SHA256 of `${t}.${raw body}`
 * with the webhook secret. Only the exact keys `t` and `v` count. Unlike Notifyre's SDKs we also
 * refuse timestamps more than 300 s in the future: nothing legitimate is signed ahead of time.
 */
export async function verifyNotifyreSignature(input: NotifyreSignatureInput): Promise<SignatureCheck> {
  if (!input.secret) return fail("WEBHOOK_NOT_CONFIGURED", "NOTIFYRE_WEBHOOK_SECRET is not set.");
  const header = input.headers.get("notifyre-signature");
  if (!header) return fail("SIGNATURE_MISSING", "The Notifyre-Signature header is required.");
  const parts = new Map<string, string>();
  for (const part of header.split(",")) {
    const [key, ...rest] = part.split("=");
    if (key !== undefined && rest.length > 0) parts.set(key.trim(), rest.join("=").trim());
  }
  const t = parts.get("t");
  const v = parts.get("v");
  if (t === undefined || v === undefined) return fail("SIGNATURE_MALFORMED", "Notifyre-Signature needs t= and v=.");
  const timestamp = parseUnixSeconds(t);
  if (timestamp === null || !/^[0-9a-fA-F]{64}$/.test(v)) return fail("SIGNATURE_MALFORMED", "t must be unix seconds and v 64 hex digits.");
  const window = checkWindow(timestamp, input.nowMs, input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
  if (window) return window;

  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(input.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const body = bytesOf(input.rawBody);
  const message = new Uint8Array(t.length + 1 + body.length);
  message.set(new TextEncoder().encode(`${t}.`), 0);
  message.set(body, t.length + 1);
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  const given = Uint8Array.from(v.match(/../g)!.map((byte) => Number.parseInt(byte, 16)));
  return crypto.subtle.timingSafeEqual(expected, given)
    ? { ok: true, timestamp }
    : fail("SIGNATURE_INVALID", "The signature does not match the body.");
}
