import { bytesOf, checkWindow, concat, DEFAULT_TOLERANCE_SECONDS, fail, parseUnixSeconds, type SignatureCheck } from "./telnyx-signature";

export interface NotifyreSignatureInput {
  /** The body exactly as received; re-serialised JSON will not verify. */
  rawBody: string | Uint8Array;
  headers: Headers;
  secret: string | undefined;
  nowMs: number;
  toleranceSeconds?: number;
}

/**
 * Notifyre sends `Notifyre-Signature: t=<unix s>,v=<hex>`: HMAC-SHA256 of `${t}.${raw body}`
 * keyed with the webhook secret. Unlike Notifyre's SDKs we also refuse timestamps more than
 * 300 s in the future: nothing legitimate is signed ahead of time.
 */
export async function verifyNotifyreSignature(input: NotifyreSignatureInput): Promise<SignatureCheck> {
  if (!input.secret) return fail("WEBHOOK_NOT_CONFIGURED", "NOTIFYRE_WEBHOOK_SECRET is not set.");
  const header = input.headers.get("notifyre-signature");
  if (!header) return fail("SIGNATURE_MISSING", "The Notifyre-Signature header is required.");
  const parts = parseSignatureHeader(header);
  if (!parts) return fail("SIGNATURE_MALFORMED", "Notifyre-Signature needs exactly one t= and one v=.");
  const timestamp = parseUnixSeconds(parts.t);
  if (timestamp === null) return fail("SIGNATURE_MALFORMED", "t= must be whole unix seconds.");
  if (!/^[0-9a-f]{64}$/i.test(parts.v)) return fail("SIGNATURE_MALFORMED", "v= must be 64 hex digits.");
  const outOfWindow = checkWindow(timestamp, input.nowMs, input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
  if (outOfWindow) return outOfWindow;

  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(input.secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const message = concat(encoder.encode(`${parts.t}.`), bytesOf(input.rawBody));
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  // Both sides are 32 bytes here; workerd's timingSafeEqual throws on unequal lengths.
  return crypto.subtle.timingSafeEqual(expected, hexToBytes(parts.v))
    ? { ok: true, timestamp }
    : fail("SIGNATURE_INVALID", "The signature does not match the body.");
}

/**
 * Comma-separated `key=value` pairs, whitespace-tolerant, in any order. Only the exact keys `t`
 * and `v` count (`t1=`, `v2=` are ignored, as in Notifyre's SDKs). Notifyre sends one of each, so a
 * repeated `t` or `v` (also what two Notifyre-Signature headers join into) is refused rather than
 * letting one silently win.
 */
function parseSignatureHeader(header: string): { t: string; v: string } | null {
  let t: string | undefined;
  let v: string | undefined;
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") {
      if (t !== undefined) return null;
      t = value;
    } else if (key === "v") {
      if (v !== undefined) return null;
      v = value;
    }
  }
  return t !== undefined && v !== undefined ? { t, v } : null;
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
