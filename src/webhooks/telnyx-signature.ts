export type SignatureFailure =
  | "SIGNATURE_MISSING"
  | "SIGNATURE_MALFORMED"
  | "SIGNATURE_INVALID"
  | "TIMESTAMP_OUT_OF_TOLERANCE"
  | "WEBHOOK_NOT_CONFIGURED";

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; code: SignatureFailure; message: string };

export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface TelnyxSignatureInput {
  rawBody: string | Uint8Array;
  headers: Headers;
  publicKeyBase64: string | undefined;
  nowMs: number;
  toleranceSeconds?: number;
}

/**
 * Telnyx signs `${telnyx-timestamp}|${raw body}` with the account's Ed25519 key. The raw bytes
 * are verified, never re-serialised JSON, and the timestamp must be within ±300 s.
 */
export async function verifyTelnyxSignature(input: TelnyxSignatureInput): Promise<SignatureCheck> {
  const publicKey = strictBase64(input.publicKeyBase64 ?? "");
  if (publicKey === null || publicKey.length !== 32) {
    return fail("WEBHOOK_NOT_CONFIGURED", "TELNYX_PUBLIC_KEY must be the account's 32-byte Ed25519 public key in base64.");
  }
  const timestampHeader = input.headers.get("telnyx-timestamp");
  const signatureHeader = input.headers.get("telnyx-signature-ed25519");
  if (!timestampHeader || !signatureHeader) return fail("SIGNATURE_MISSING", "telnyx-timestamp and telnyx-signature-ed25519 are required.");
  const timestamp = parseUnixSeconds(timestampHeader.trim());
  if (timestamp === null) return fail("SIGNATURE_MALFORMED", "telnyx-timestamp must be whole unix seconds.");
  const signature = strictBase64(signatureHeader.trim());
  if (signature === null || signature.length !== 64) return fail("SIGNATURE_MALFORMED", "telnyx-signature-ed25519 must be base64 of 64 bytes.");
  const window = checkWindow(timestamp, input.nowMs, input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
  if (window) return window;

  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  const message = concat(new TextEncoder().encode(`${timestampHeader.trim()}|`), bytesOf(input.rawBody));
  const valid = await crypto.subtle.verify("Ed25519", key, signature, message);
  return valid ? { ok: true, timestamp } : fail("SIGNATURE_INVALID", "The signature does not match the body.");
}

export function fail(code: SignatureFailure, message: string): SignatureCheck {
  return { ok: false, code, message };
}

export function parseUnixSeconds(value: string): number | null {
  if (!/^\d{1,15}$/.test(value)) return null;
  const seconds = Number(value);
  return Number.isSafeInteger(seconds) ? seconds : null;
}

/** Refuses stale and far-future timestamps alike: a replayed or pre-signed delivery is not fresh. */
export function checkWindow(timestampSeconds: number, nowMs: number, toleranceSeconds: number): SignatureCheck | null {
  const drift = Math.abs(Math.floor(nowMs / 1000) - timestampSeconds);
  return drift > toleranceSeconds ? fail("TIMESTAMP_OUT_OF_TOLERANCE", `The timestamp is more than ${toleranceSeconds} s from now.`) : null;
}

/** Padded standard base64 only; anything else (URL-safe, whitespace, bad padding) is null. */
export function strictBase64(value: string): Uint8Array | null {
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return null;
  try {
    return Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

export function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
