export type SignatureFailure =
  | "SIGNATURE_MISSING"
  | "SIGNATURE_MALFORMED"
  | "SIGNATURE_INVALID"
  | "TIMESTAMP_OUT_OF_TOLERANCE"
  | "WEBHOOK_NOT_CONFIGURED";

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; code: SignatureFailure; message: string };

export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface TelnyxSignatureInput {
  /** The body exactly as received; re-serialised JSON will not verify. */
  rawBody: string | Uint8Array;
  headers: Headers;
  publicKeyBase64: string | undefined;
  nowMs: number;
  toleranceSeconds?: number;
}

/**
 * Telnyx signs `${telnyx-timestamp}|${raw body}` with the account's Ed25519 key. The timestamp
 * must be within ±300 s, as in Telnyx's current SDK (the legacy SDKs checked only staleness).
 */
export async function verifyTelnyxSignature(input: TelnyxSignatureInput): Promise<SignatureCheck> {
  const publicKey = strictBase64(input.publicKeyBase64 ?? "");
  if (publicKey === null || publicKey.length !== 32) {
    return fail("WEBHOOK_NOT_CONFIGURED", "TELNYX_PUBLIC_KEY must be the account's 32-byte Ed25519 public key in base64.");
  }
  const timestampHeader = input.headers.get("telnyx-timestamp");
  const signatureHeader = input.headers.get("telnyx-signature-ed25519");
  if (!timestampHeader || !signatureHeader) {
    return fail("SIGNATURE_MISSING", "telnyx-timestamp and telnyx-signature-ed25519 are required.");
  }
  const timestamp = parseUnixSeconds(timestampHeader);
  if (timestamp === null) return fail("SIGNATURE_MALFORMED", "telnyx-timestamp must be whole unix seconds.");
  const signature = strictBase64(signatureHeader);
  if (signature === null || signature.length !== 64) {
    return fail("SIGNATURE_MALFORMED", "telnyx-signature-ed25519 must be padded base64 of 64 bytes.");
  }
  const outOfWindow = checkWindow(timestamp, input.nowMs, input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
  if (outOfWindow) return outOfWindow;

  // The header text itself is signed, not the parsed number (leading zeros would otherwise differ).
  const message = concat(new TextEncoder().encode(`${timestampHeader}|`), bytesOf(input.rawBody));
  let valid: boolean;
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    valid = await crypto.subtle.verify("Ed25519", key, signature, message);
  } catch {
    return fail("WEBHOOK_NOT_CONFIGURED", "TELNYX_PUBLIC_KEY is not a usable Ed25519 public key.");
  }
  return valid ? { ok: true, timestamp } : fail("SIGNATURE_INVALID", "The signature does not match the body.");
}

export function fail(code: SignatureFailure, message: string): SignatureCheck {
  return { ok: false, code, message };
}

export function parseUnixSeconds(value: string): number | null {
  if (!/^\d+$/.test(value)) return null;
  const seconds = Number(value);
  return Number.isSafeInteger(seconds) ? seconds : null;
}

/** Refuses stale and far-future timestamps alike: a replayed or pre-signed delivery is not fresh. */
export function checkWindow(timestampSeconds: number, nowMs: number, toleranceSeconds: number): SignatureCheck | null {
  const drift = Math.abs(Math.floor(nowMs / 1000) - timestampSeconds);
  return drift > toleranceSeconds ? fail("TIMESTAMP_OUT_OF_TOLERANCE", `The timestamp is more than ${toleranceSeconds} s from now.`) : null;
}

/**
 * Canonical padded standard base64 only. atob alone also accepts missing padding, whitespace and
 * non-zero trailing bits, so the decoded bytes must re-encode to exactly the input.
 */
export function strictBase64(value: string): Uint8Array | null {
  if (value.length === 0) return null;
  let binary: string;
  try {
    binary = atob(value);
  } catch {
    return null;
  }
  if (btoa(binary) !== value) return null;
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

export function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
