import { beforeAll, describe, expect, it } from "vitest";
import { verifyTelnyxSignature, type TelnyxSignatureInput } from "../../src/webhooks/telnyx-signature";
import vector from "../fixtures/telnyx_vector.json";

const encoder = new TextEncoder();
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const concatBytes = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
};

interface TestKey {
  privateKey: CryptoKey;
  publicKeyBase64: string;
}

async function generateTelnyxKey(): Promise<TestKey> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const rawPublic = (await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer;
  return { privateKey: pair.privateKey, publicKeyBase64: toBase64(new Uint8Array(rawPublic)) };
}

/** Signs the way Telnyx does: Ed25519 over `${timestamp}|` followed by the raw body bytes. */
async function sign(key: TestKey, timestamp: string, body: string | Uint8Array): Promise<string> {
  const bodyBytes = typeof body === "string" ? encoder.encode(body) : body;
  const signature = await crypto.subtle.sign("Ed25519", key.privateKey, concatBytes(encoder.encode(`${timestamp}|`), bodyBytes));
  return toBase64(new Uint8Array(signature));
}

const headersFor = (timestamp: string, signature: string) =>
  new Headers({ "telnyx-timestamp": timestamp, "telnyx-signature-ed25519": signature });

const NOW_S = 1_750_000_000;
const TS = String(NOW_S);
const BODY = JSON.stringify({
  data: { event_type: "fax.delivered", id: "evt-1", payload: { fax_id: "fax-1", page_count: 2, status: "delivered" } },
  meta: { attempt: 1 },
});

let key: TestKey;
let otherKey: TestKey;
let signature: string;

beforeAll(async () => {
  key = await generateTelnyxKey();
  otherKey = await generateTelnyxKey();
  signature = await sign(key, TS, BODY);
});

/** A delivery signed with `key` at NOW_S, checked at NOW_S, with any field overridden. */
const check = (overrides: Partial<TelnyxSignatureInput> = {}) =>
  verifyTelnyxSignature({
    rawBody: BODY,
    headers: headersFor(TS, signature),
    publicKeyBase64: key.publicKeyBase64,
    nowMs: NOW_S * 1000,
    ...overrides,
  });

describe("verifyTelnyxSignature: published vector", () => {
  const vectorNowMs = Number(vector.timestamp) * 1000;
  const vectorCheck = (rawBody: string | Uint8Array, timestamp = vector.timestamp) =>
    verifyTelnyxSignature({
      rawBody,
      headers: headersFor(timestamp, vector.signature_b64),
      publicKeyBase64: vector.public_key_b64,
      nowMs: vectorNowMs,
    });

  it("verifies with the clock injected at its timestamp, as text and as bytes", async () => {
    expect(await vectorCheck(vector.body)).toEqual({ ok: true, timestamp: 1_700_000_000 });
    expect(await vectorCheck(encoder.encode(vector.body))).toEqual({ ok: true, timestamp: 1_700_000_000 });
  });

  it("refuses the vector's tampered body and altered timestamp", async () => {
    expect(await vectorCheck(vector.body.replace('"page_count":2', '"page_count":3'))).toMatchObject({
      ok: false,
      code: "SIGNATURE_INVALID",
    });
    expect(await vectorCheck(vector.body, "1700000001")).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });

  it("is refused with the real clock, far from its timestamp", async () => {
    const result = await verifyTelnyxSignature({
      rawBody: vector.body,
      headers: headersFor(vector.timestamp, vector.signature_b64),
      publicKeyBase64: vector.public_key_b64,
      nowMs: Date.now(),
    });
    expect(result).toMatchObject({ ok: false, code: "TIMESTAMP_OUT_OF_TOLERANCE" });
  });
});

describe("verifyTelnyxSignature: generated key", () => {
  it("accepts a valid delivery and returns its timestamp", async () => {
    expect(await check()).toEqual({ ok: true, timestamp: NOW_S });
  });

  it("verifies the raw bytes, even when they are not valid UTF-8", async () => {
    const rawBody = concatBytes(encoder.encode(BODY), new Uint8Array([0xff, 0xfe]));
    const sig = await sign(key, TS, rawBody);
    expect((await check({ rawBody, headers: headersFor(TS, sig) })).ok).toBe(true);
    // Decoding to text first loses the invalid bytes, so the signature no longer matches.
    const decoded = new TextDecoder().decode(rawBody);
    expect(await check({ rawBody: decoded, headers: headersFor(TS, sig) })).toMatchObject({ code: "SIGNATURE_INVALID" });
  });

  it("refuses a body with one byte changed", async () => {
    const tampered = encoder.encode(BODY);
    tampered[10] = (tampered[10] ?? 0) ^ 0x01;
    expect(await check({ rawBody: tampered })).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });

  it("refuses re-serialised JSON with the same content", async () => {
    const reserialised = JSON.stringify(JSON.parse(BODY), null, 2);
    expect(JSON.parse(reserialised)).toEqual(JSON.parse(BODY));
    expect(await check({ rawBody: reserialised })).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });

  it("refuses a delivery signed with another key", async () => {
    const foreign = await sign(otherKey, TS, BODY);
    expect(await check({ headers: headersFor(TS, foreign) })).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });

  it("refuses a timestamp altered by one second", async () => {
    expect(await check({ headers: headersFor(String(NOW_S + 1), signature) })).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
    expect(await check({ headers: headersFor(String(NOW_S - 1), signature) })).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });

  it("signs the timestamp text: leading zeros are a different message", async () => {
    expect(await check({ headers: headersFor(`0${TS}`, signature) })).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
    const padded = await sign(key, `0${TS}`, BODY);
    expect(await check({ headers: headersFor(`0${TS}`, padded) })).toEqual({ ok: true, timestamp: NOW_S });
  });

  it("accepts up to 300 s either side of now and refuses beyond", async () => {
    expect((await check({ nowMs: (NOW_S + 300) * 1000 })).ok).toBe(true);
    expect((await check({ nowMs: (NOW_S + 300) * 1000 + 999 })).ok).toBe(true);
    expect((await check({ nowMs: (NOW_S - 300) * 1000 })).ok).toBe(true);
    expect(await check({ nowMs: (NOW_S + 301) * 1000 })).toMatchObject({ ok: false, code: "TIMESTAMP_OUT_OF_TOLERANCE" });
    expect(await check({ nowMs: (NOW_S - 301) * 1000 })).toMatchObject({ ok: false, code: "TIMESTAMP_OUT_OF_TOLERANCE" });
  });

  it("refuses a stale or far-future delivery even when correctly signed for that time", async () => {
    for (const ts of [String(NOW_S - 3600), String(NOW_S + 3600)]) {
      const sig = await sign(key, ts, BODY);
      expect(await check({ headers: headersFor(ts, sig) })).toMatchObject({ ok: false, code: "TIMESTAMP_OUT_OF_TOLERANCE" });
    }
  });

  it("honours a custom tolerance", async () => {
    expect(await check({ nowMs: (NOW_S + 61) * 1000, toleranceSeconds: 60 })).toMatchObject({ code: "TIMESTAMP_OUT_OF_TOLERANCE" });
    expect((await check({ nowMs: (NOW_S + 60) * 1000, toleranceSeconds: 60 })).ok).toBe(true);
  });

  it("reads header names case-insensitively", async () => {
    const headers = new Headers({ "Telnyx-Timestamp": TS, "TELNYX-SIGNATURE-ED25519": signature });
    expect(await check({ headers })).toEqual({ ok: true, timestamp: NOW_S });
  });

  it.each([
    ["no headers", {}],
    ["no signature", { "telnyx-timestamp": TS }],
    ["no timestamp", { "telnyx-signature-ed25519": "placeholder" }],
    ["empty values", { "telnyx-timestamp": "", "telnyx-signature-ed25519": "" }],
  ])("refuses %s as SIGNATURE_MISSING", async (_name, init) => {
    expect(await check({ headers: new Headers(init) })).toMatchObject({ ok: false, code: "SIGNATURE_MISSING" });
  });

  it.each([
    ["a non-digit timestamp", "17e8"],
    ["a negative timestamp", `-${TS}`],
    ["a fractional timestamp", `${TS}.5`],
    ["a hex timestamp", "0x684ee180"],
    ["an unsafe integer timestamp", "9".repeat(17)],
  ])("refuses %s as SIGNATURE_MALFORMED", async (_name, ts) => {
    expect(await check({ headers: headersFor(ts, signature) })).toMatchObject({ ok: false, code: "SIGNATURE_MALFORMED" });
  });

  it("refuses signatures that are not strict padded base64 of 64 bytes", async () => {
    const bytes = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
    const malformed = [
      "not*base64!",
      signature.replace(/=+$/, ""), // unpadded
      vector.signature_b64.replace(/\+/g, "-").replace(/\//g, "_"), // base64url (the vector has a "+")
      `${signature.slice(0, 40)} ${signature.slice(40)}`, // embedded whitespace
      `${signature.slice(0, -3)}x==`, // non-zero trailing bits: decodes, but not canonical
      toBase64(bytes.subarray(0, 63)),
      toBase64(concatBytes(bytes, new Uint8Array([0]))),
      "====",
    ];
    for (const sig of malformed) {
      expect(await check({ headers: headersFor(TS, sig) }), sig).toMatchObject({ ok: false, code: "SIGNATURE_MALFORMED" });
    }
  });

  it.each([
    ["an empty key", ""],
    ["no key", undefined],
    ["a key that is not base64", "not a key"],
    ["a 31-byte key", toBase64(new Uint8Array(31))],
    ["a 33-byte key", toBase64(new Uint8Array(33))],
    ["an unpadded key", vector.public_key_b64.replace(/=$/, "")],
  ])("refuses %s as WEBHOOK_NOT_CONFIGURED, before looking at the delivery", async (_name, publicKeyBase64) => {
    expect(await check({ publicKeyBase64 })).toMatchObject({ ok: false, code: "WEBHOOK_NOT_CONFIGURED" });
    expect(await check({ publicKeyBase64, headers: new Headers() })).toMatchObject({ ok: false, code: "WEBHOOK_NOT_CONFIGURED" });
  });

  it("refuses an SPKI-encoded key: only the raw 32 bytes are accepted", async () => {
    const spki = (await crypto.subtle.exportKey(
      "spki",
      await crypto.subtle.importKey(
        "raw",
        Uint8Array.from(atob(key.publicKeyBase64), (c) => c.charCodeAt(0)),
        { name: "Ed25519" },
        true,
        ["verify"],
      ),
    )) as ArrayBuffer;
    expect(await check({ publicKeyBase64: toBase64(new Uint8Array(spki)) })).toMatchObject({ code: "WEBHOOK_NOT_CONFIGURED" });
  });
});
