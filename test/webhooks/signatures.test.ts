import { describe, expect, it } from "vitest";
import { verifyNotifyreSignature } from "../../src/webhooks/notifyre-signature";
import { verifyTelnyxSignature } from "../../src/webhooks/telnyx-signature";
import notifyreVector from "../fixtures/notifyre_vector.json";
import telnyxVector from "../fixtures/telnyx_vector.json";

const telnyxHeaders = (ts: string, sig: string) => new Headers({ "Telnyx-Timestamp": ts, "TELNYX-SIGNATURE-ED25519": sig });
const telnyxAt = (nowSeconds: number, overrides: { body?: string; ts?: string; sig?: string; key?: string } = {}) =>
  verifyTelnyxSignature({
    rawBody: overrides.body ?? telnyxVector.body,
    headers: telnyxHeaders(overrides.ts ?? telnyxVector.timestamp, overrides.sig ?? telnyxVector.signature_b64),
    publicKeyBase64: overrides.key ?? telnyxVector.public_key_b64,
    nowMs: nowSeconds * 1000,
  });
const vectorNow = Number(telnyxVector.timestamp);

describe("Telnyx signature (published vector, injected clock)", () => {
  it("verifies the vector, as text and as bytes", async () => {
    expect(await telnyxAt(vectorNow)).toEqual({ ok: true, timestamp: vectorNow });
    const asBytes = await verifyTelnyxSignature({
      rawBody: new TextEncoder().encode(telnyxVector.body),
      headers: telnyxHeaders(telnyxVector.timestamp, telnyxVector.signature_b64),
      publicKeyBase64: telnyxVector.public_key_b64,
      nowMs: vectorNow * 1000,
    });
    expect(asBytes.ok).toBe(true);
  });

  it.each([
    ["a tampered body", { body: telnyxVector.body.replace('"page_count":2', '"page_count":3') }, "SIGNATURE_INVALID"],
    ["re-serialised JSON", { body: JSON.stringify(JSON.parse(telnyxVector.body), null, 1) }, "SIGNATURE_INVALID"],
    ["a timestamp altered by one second", { ts: String(vectorNow + 1) }, "SIGNATURE_INVALID"],
    ["another key", { key: "eu2zvPjhY6odxV34Z/EsRiERvTodkev4Fq0SlK90Izg=" }, "SIGNATURE_INVALID"],
    ["a non-digit timestamp", { ts: "17e8" }, "SIGNATURE_MALFORMED"],
    ["non-base64 signature", { sig: "not*base64!" }, "SIGNATURE_MALFORMED"],
    ["a 63-byte signature", { sig: btoa("x".repeat(63)) }, "SIGNATURE_MALFORMED"],
    ["a 65-byte signature", { sig: btoa("x".repeat(65)) }, "SIGNATURE_MALFORMED"],
    ["no key configured", { key: "" }, "WEBHOOK_NOT_CONFIGURED"],
    ["a key of the wrong length", { key: btoa("x".repeat(31)) }, "WEBHOOK_NOT_CONFIGURED"],
  ])("refuses %s", async (_name, overrides, code) => {
    expect(await telnyxAt(vectorNow, overrides)).toMatchObject({ ok: false, code });
  });

  it("refuses stale and far-future timestamps, accepts the edges of the window", async () => {
    expect((await telnyxAt(vectorNow + 300)).ok).toBe(true);
    expect((await telnyxAt(vectorNow - 300)).ok).toBe(true);
    expect(await telnyxAt(vectorNow + 301)).toMatchObject({ code: "TIMESTAMP_OUT_OF_TOLERANCE" });
    expect(await telnyxAt(vectorNow - 301)).toMatchObject({ code: "TIMESTAMP_OUT_OF_TOLERANCE" });
  });

  it("refuses missing headers", async () => {
    const result = await verifyTelnyxSignature({
      rawBody: telnyxVector.body,
      headers: new Headers({ "telnyx-timestamp": telnyxVector.timestamp }),
      publicKeyBase64: telnyxVector.public_key_b64,
      nowMs: vectorNow * 1000,
    });
    expect(result).toMatchObject({ ok: false, code: "SIGNATURE_MISSING" });
  });
});

const notifyreNow = 1634001867;
const notifyreAt = (nowSeconds: number, header: string | null = notifyreVector.header, body = notifyreVector.body, secret = notifyreVector.secret) =>
  verifyNotifyreSignature({
    rawBody: body,
    headers: new Headers(header === null ? {} : { "notifyre-signature": header }),
    secret,
    nowMs: nowSeconds * 1000,
  });

describe("Notifyre signature (published vector, injected clock)", () => {
  it("verifies the vector, whatever the header's case", async () => {
    expect(await notifyreAt(notifyreNow)).toEqual({ ok: true, timestamp: notifyreNow });
    const upper = await verifyNotifyreSignature({
      rawBody: notifyreVector.body,
      headers: new Headers({ "NOTIFYRE-SIGNATURE": notifyreVector.header }),
      secret: notifyreVector.secret,
      nowMs: notifyreNow * 1000,
    });
    expect(upper.ok).toBe(true);
  });

  it.each([
    ["a tampered body", notifyreVector.header, notifyreVector.body.replace('"Pages":3', '"Pages":4'), "SIGNATURE_INVALID"],
    ["the SDK's non-matching signature", "t=1634001867,v=299c1f006ec9d41b2ffe107bd5442ee2b40b3b75b880dbfc4672fc0cf1dbe528", notifyreVector.body, "SIGNATURE_INVALID"],
    ["re-serialised JSON", notifyreVector.header, JSON.stringify(JSON.parse(notifyreVector.body), null, 2), "SIGNATURE_INVALID"],
    ["a timestamp altered by one second", notifyreVector.header.replace("t=1634001867", "t=1634001868"), notifyreVector.body, "SIGNATURE_INVALID"],
    ["no t", "v=30894d12c909722c603c3e301e0772ee20557d5359f39326ba702c817ca4703e", notifyreVector.body, "SIGNATURE_MALFORMED"],
    ["t1= and v2= instead of t= and v=", "t1=1634001867,v2=30894d12c909722c603c3e301e0772ee20557d5359f39326ba702c817ca4703e", notifyreVector.body, "SIGNATURE_MALFORMED"],
    ["a non-hex v", "t=1634001867,v=zz894d12c909722c603c3e301e0772ee20557d5359f39326ba702c817ca4703e", notifyreVector.body, "SIGNATURE_MALFORMED"],
    ["no header", null, notifyreVector.body, "SIGNATURE_MISSING"],
  ])("refuses %s", async (_name, header, body, code) => {
    expect(await notifyreAt(notifyreNow, header, body)).toMatchObject({ ok: false, code });
  });

  it("refuses another secret, no secret, stale and far-future timestamps", async () => {
    expect(await notifyreAt(notifyreNow, notifyreVector.header, notifyreVector.body, "other-secret")).toMatchObject({ code: "SIGNATURE_INVALID" });
    expect(await notifyreAt(notifyreNow, notifyreVector.header, notifyreVector.body, "")).toMatchObject({ code: "WEBHOOK_NOT_CONFIGURED" });
    expect(await notifyreAt(notifyreNow + 301)).toMatchObject({ code: "TIMESTAMP_OUT_OF_TOLERANCE" });
    expect(await notifyreAt(notifyreNow - 301)).toMatchObject({ code: "TIMESTAMP_OUT_OF_TOLERANCE" });
    expect((await notifyreAt(notifyreNow + 300)).ok).toBe(true);
  });
});
