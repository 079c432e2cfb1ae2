import { describe, expect, it } from "vitest";
import { verifyNotifyreSignature, type NotifyreSignatureInput } from "../../src/webhooks/notifyre-signature";
import vector from "../fixtures/notifyre_vector.json";

const encoder = new TextEncoder();

/** Signs the way Notifyre does: lowercase hex of HMAC-SHA256(secret, `${t}.${raw body}`). */
async function sign(secret: string, t: string, body: string | Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const bodyBytes = typeof body === "string" ? encoder.encode(body) : body;
  const message = new Uint8Array([...encoder.encode(`${t}.`), ...bodyBytes]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

const headerWith = (value: string) => new Headers({ "Notifyre-Signature": value });

/** Non-ASCII on purpose: the key is the secret's UTF-8 bytes. */
const SECRET = "test-secret-é-with-non-ascii";
const NOW_S = 1_750_000_000;
const T = String(NOW_S);
const BODY = JSON.stringify({ Event: "fax_sent", Timestamp: NOW_S, Payload: { ID: "fax-1", Pages: 3, Status: "successful" } });

/** A delivery signed with SECRET at NOW_S, checked at NOW_S, with any field overridden. */
async function check(overrides: Partial<NotifyreSignatureInput> = {}) {
  const headers = overrides.headers ?? headerWith(`t=${T},v=${await sign(SECRET, T, BODY)}`);
  return verifyNotifyreSignature({ rawBody: BODY, secret: SECRET, nowMs: NOW_S * 1000, ...overrides, headers });
}

describe("verifyNotifyreSignature: published vector (Notifyre SDK)", () => {
  const vectorNowMs = 1_634_001_867 * 1000;
  const vectorCheck = (rawBody: string | Uint8Array, header = vector.header, secret = vector.secret) =>
    verifyNotifyreSignature({ rawBody, headers: headerWith(header), secret, nowMs: vectorNowMs });

  it("verifies with the clock injected at its timestamp, as text and as bytes", async () => {
    expect(await vectorCheck(vector.body)).toEqual({ ok: true, timestamp: 1_634_001_867 });
    expect(await vectorCheck(encoder.encode(vector.body))).toEqual({ ok: true, timestamp: 1_634_001_867 });
  });

  it("refuses the tampered body, and the tampered body's own HMAC verifies it", async () => {
    const tampered = vector.body.replace('"Pages":3', '"Pages":4');
    expect(await vectorCheck(tampered)).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
    expect((await vectorCheck(tampered, `t=1634001867,v=${vector.tampered_computed}`)).ok).toBe(true);
  });

  it("refuses the SDK's non-matching signature, another secret and a shifted t", async () => {
    expect(await vectorCheck(vector.body, `t=1634001867,v=${vector.nonmatching_v_from_sdk_test}`)).toMatchObject({
      code: "SIGNATURE_INVALID",
    });
    expect(await vectorCheck(vector.body, vector.header, `${vector.secret}x`)).toMatchObject({ code: "SIGNATURE_INVALID" });
    expect(await vectorCheck(vector.body, vector.header.replace("t=1634001867", "t=1634001868"))).toMatchObject({
      code: "SIGNATURE_INVALID",
    });
  });
});

describe("verifyNotifyreSignature: generated secret", () => {
  it("accepts a valid delivery and returns its timestamp", async () => {
    expect(await check()).toEqual({ ok: true, timestamp: NOW_S });
  });

  it("verifies the raw bytes, even when they are not valid UTF-8", async () => {
    const rawBody = new Uint8Array([...encoder.encode(BODY), 0xff]);
    const headers = headerWith(`t=${T},v=${await sign(SECRET, T, rawBody)}`);
    expect((await check({ rawBody, headers })).ok).toBe(true);
    expect(await check({ rawBody: new TextDecoder().decode(rawBody), headers })).toMatchObject({ code: "SIGNATURE_INVALID" });
  });

  it("refuses a body with one byte changed", async () => {
    const tampered = encoder.encode(BODY);
    tampered[20] = (tampered[20] ?? 0) ^ 0x01;
    expect(await check({ rawBody: tampered })).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });

  it("refuses re-serialised JSON with the same content", async () => {
    const reserialised = JSON.stringify(JSON.parse(BODY), null, 2);
    expect(JSON.parse(reserialised)).toEqual(JSON.parse(BODY));
    expect(await check({ rawBody: reserialised })).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });

  it("refuses another secret and a t altered by one second", async () => {
    expect(await check({ secret: "another-secret" })).toMatchObject({ code: "SIGNATURE_INVALID" });
    const v = await sign(SECRET, T, BODY);
    expect(await check({ headers: headerWith(`t=${NOW_S + 1},v=${v}`) })).toMatchObject({ code: "SIGNATURE_INVALID" });
  });

  it("refuses stale and far-future timestamps (stricter than Notifyre's SDKs, which only refuse stale)", async () => {
    expect((await check({ nowMs: (NOW_S + 300) * 1000 })).ok).toBe(true);
    expect((await check({ nowMs: (NOW_S - 300) * 1000 })).ok).toBe(true);
    expect(await check({ nowMs: (NOW_S + 301) * 1000 })).toMatchObject({ ok: false, code: "TIMESTAMP_OUT_OF_TOLERANCE" });
    expect(await check({ nowMs: (NOW_S - 301) * 1000 })).toMatchObject({ ok: false, code: "TIMESTAMP_OUT_OF_TOLERANCE" });
    expect(await check({ nowMs: (NOW_S + 61) * 1000, toleranceSeconds: 60 })).toMatchObject({ code: "TIMESTAMP_OUT_OF_TOLERANCE" });
  });

  it("reads the header name in any case, tolerates whitespace, any order and unknown parts", async () => {
    const v = await sign(SECRET, T, BODY);
    for (const headers of [
      new Headers({ "notifyre-signature": `t=${T},v=${v}` }),
      new Headers({ "NOTIFYRE-SIGNATURE": `t=${T},v=${v}` }),
      headerWith(`v=${v},t=${T}`),
      headerWith(` t = ${T} ,  v= ${v} `),
      headerWith(`t1=1,t=${T},x=y,v2=${"0".repeat(64)},v=${v},novalue`),
      headerWith(`t=${T},v=${v.toUpperCase()}`),
    ]) {
      expect(await check({ headers }), headers.get("notifyre-signature") ?? "").toEqual({ ok: true, timestamp: NOW_S });
    }
  });

  it("refuses a missing or empty header, and does not read look-alike header names", async () => {
    const v = await sign(SECRET, T, BODY);
    for (const headers of [new Headers(), headerWith(""), new Headers({ "X-Notifyre-Signature": `t=${T},v=${v}` })]) {
      expect(await check({ headers })).toMatchObject({ ok: false, code: "SIGNATURE_MISSING" });
    }
  });

  it("refuses malformed headers", async () => {
    const v = await sign(SECRET, T, BODY);
    const malformed = [
      `v=${v}`, // no t
      `t=${T}`, // no v
      `t1=${T},v2=${v}`, // look-alike keys only
      `t=${T};v=${v}`, // wrong separator
      `t=,v=${v}`,
      `t=17e8,v=${v}`,
      `t=-${T},v=${v}`,
      `t=${T}.0,v=${v}`,
      `t=${"9".repeat(17)},v=${v}`,
      `t=${T},v=${v.slice(0, 63)}z`, // non-hex
      `t=${T},v=${v.slice(0, 62)}`, // 31 bytes
      `t=${T},v=${v}00`, // 33 bytes
      `t=${T},v=sha256=${v}`,
      `t=${T},v=${v},v=${"0".repeat(64)}`, // two v= values: ambiguous
      `t=${T},t=${T},v=${v}`, // two t= values
    ];
    for (const value of malformed) {
      expect(await check({ headers: headerWith(value) }), value).toMatchObject({ ok: false, code: "SIGNATURE_MALFORMED" });
    }
  });

  it("refuses two Notifyre-Signature headers, which Headers joins into one value with two t= and v=", async () => {
    const headers = headerWith(`t=${T},v=${await sign(SECRET, T, BODY)}`);
    headers.append("notifyre-signature", `t=${T},v=${"0".repeat(64)}`);
    expect(await check({ headers })).toMatchObject({ ok: false, code: "SIGNATURE_MALFORMED" });
  });

  it("refuses with WEBHOOK_NOT_CONFIGURED when there is no secret, before looking at the delivery", async () => {
    expect(await check({ secret: "" })).toMatchObject({ ok: false, code: "WEBHOOK_NOT_CONFIGURED" });
    expect(await check({ secret: undefined })).toMatchObject({ ok: false, code: "WEBHOOK_NOT_CONFIGURED" });
    expect(await check({ secret: "", headers: new Headers() })).toMatchObject({ ok: false, code: "WEBHOOK_NOT_CONFIGURED" });
  });
});
