import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, counterTotal, flushLedger, historyRows, uniqueSubject } from "../helpers/api";
import { MAX_FAX_PAGES } from "../../src/domain/fax";
import { notifyreFax, sendNotifyre, sendTelnyx, telnyxFax, telnyxSignature } from "../helpers/webhooks";

async function fax(provider: string, faxId: string) {
  return env.DB.prepare("SELECT * FROM faxes WHERE provider = ? AND fax_id = ?").bind(provider, faxId).first<Record<string, unknown>>();
}

async function receiptsFor(faxId: string): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM webhook_receipts WHERE fax_id = ?").bind(faxId).first<{ n: number }>())!.n;
}

const faxIdOf = (delivery: { data: { payload: Record<string, unknown> } }) => delivery.data.payload.fax_id as string;

describe("Telnyx webhooks", () => {
  it("bill a delivered fax to the subject in client_state, once however often it arrives", async () => {
    const subjectId = uniqueSubject("fax");
    const delivered = telnyxFax("fax.delivered", { pages: 4, subjectId });
    for (let i = 0; i < 5; i++) {
      const res = await sendTelnyx(delivered);
      expect(res.status).toBe(200);
      expect(res.body.outcome).toBe(i === 0 ? "billed" : "already_billed");
    }
    // The same fax announced again under another event id.
    const again = await sendTelnyx({ ...delivered, data: { ...delivered.data, id: crypto.randomUUID() } });
    expect(again.body.outcome).toBe("already_billed");
    expect(await counterTotal(subjectId, "fax")).toBe(4);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(1);
    const history = await api("GET", `/v1/usage?subjectId=${subjectId}`);
    expect(history.body.data[0]).toMatchObject({
      meter: "fax",
      amount: 4,
      source: "webhook:telnyx",
      idempotencyKey: `telnyx:${faxIdOf(delivered)}`,
      metadata: { provider: "telnyx", faxId: faxIdOf(delivered), eventType: "fax.delivered", status: "delivered" },
    });
    expect(await fax("telnyx", faxIdOf(delivered))).toMatchObject({ status: "delivered", page_count: 4, subject_id: subjectId });
    expect(await receiptsFor(faxIdOf(delivered))).toBe(2);
  });

  it.each([
    ["a tampered body", { body: (raw: string) => raw.replace('"page_count":2', '"page_count":3') }],
    ["re-serialised JSON", { body: (raw: string) => JSON.stringify(JSON.parse(raw), null, 2) }],
    ["no signature", { signature: null }],
    ["a malformed signature", { signature: "abc" }],
    ["a stale timestamp", { timestamp: String(Math.floor(Date.now() / 1000) - 400) }],
    ["a far-future timestamp", { timestamp: String(Math.floor(Date.now() / 1000) + 400) }],
    ["a non-numeric timestamp", { timestamp: "yesterday" }],
  ])("refuse %s with 401 and store nothing", async (_name, alter) => {
    const subjectId = uniqueSubject("forged");
    const delivery = telnyxFax("fax.delivered", { pages: 2, subjectId });
    const res = await sendTelnyx(delivery, alter);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toMatch(/^SIGNATURE_|^TIMESTAMP_OUT_OF_TOLERANCE$/);
    expect(await receiptsFor(faxIdOf(delivery))).toBe(0);
    expect(await fax("telnyx", faxIdOf(delivery))).toBeNull();
    expect(await counterTotal(subjectId, "fax")).toBe(0);
  });

  it("refuse a timestamp other than the one signed", async () => {
    const delivery = telnyxFax("fax.delivered", { pages: 2, subjectId: uniqueSubject() });
    const signedAt = String(Math.floor(Date.now() / 1000));
    const res = await sendTelnyx(delivery, {
      timestamp: String(Number(signedAt) - 1),
      signature: await telnyxSignature(JSON.stringify(delivery), signedAt),
    });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("SIGNATURE_INVALID");
    expect(await receiptsFor(faxIdOf(delivery))).toBe(0);
  });

  it("refuse a signature made with another key", async () => {
    const other = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const pkcs8 = btoa(String.fromCharCode(...new Uint8Array((await crypto.subtle.exportKey("pkcs8", other.privateKey)) as ArrayBuffer)));
    const delivery = telnyxFax("fax.delivered", { pages: 2, subjectId: uniqueSubject() });
    const ts = String(Math.floor(Date.now() / 1000));
    const res = await sendTelnyx(delivery, { timestamp: ts, signature: await telnyxSignature(JSON.stringify(delivery), ts, pkcs8) });
    expect(res.status).toBe(401);
    expect(await receiptsFor(faxIdOf(delivery))).toBe(0);
  });

  it("keep a delivered fax delivered when an older event arrives late", async () => {
    const faxId = `late-${crypto.randomUUID()}`;
    const subjectId = uniqueSubject();
    const t0 = Date.now() - 60_000;
    await sendTelnyx(telnyxFax("fax.delivered", { faxId, pages: 1, subjectId, occurredAt: new Date(t0).toISOString() }));
    await sendTelnyx(telnyxFax("fax.sending.started", { faxId, occurredAt: new Date(t0 - 30_000).toISOString() }));
    await sendTelnyx(telnyxFax("fax.queued", { faxId, occurredAt: new Date(t0 + 30_000).toISOString() }));
    expect(await fax("telnyx", faxId)).toMatchObject({ status: "delivered", page_count: 1 });
    expect(await counterTotal(subjectId, "fax")).toBe(1);
  });

  it("record a failed fax with its reason and a null page count, billing nothing", async () => {
    const subjectId = uniqueSubject();
    const failed = telnyxFax("fax.failed", { subjectId, failureReason: "user_busy" });
    const res = await sendTelnyx(failed);
    expect(res.body).toEqual({ received: true, outcome: "recorded" });
    expect(await fax("telnyx", faxIdOf(failed))).toMatchObject({ status: "failed", failure_reason: "user_busy", page_count: null });
    const receipt = await env.DB.prepare("SELECT page_count, failure_reason FROM webhook_receipts WHERE fax_id = ?")
      .bind(faxIdOf(failed))
      .first();
    expect(receipt).toEqual({ page_count: null, failure_reason: "user_busy" });
    expect(await counterTotal(subjectId, "fax")).toBe(0);
  });

  it("accept inbound and unknown events, recording inbound pages and billing nothing", async () => {
    const subjectId = uniqueSubject();
    const received = telnyxFax("fax.received", { pages: 6, direction: "inbound", subjectId });
    for (const delivery of [
      telnyxFax("fax.receiving.started", { direction: "inbound" }),
      received,
      telnyxFax("fax.email.delivered", { subjectId }),
    ]) {
      const res = await sendTelnyx(delivery);
      expect(res.status).toBe(200);
      expect(res.body.outcome).toBe("recorded");
    }
    expect(await fax("telnyx", faxIdOf(received))).toMatchObject({ status: "received", direction: "inbound", page_count: 6 });
    expect(await counterTotal(subjectId, "fax")).toBe(0);
    expect((await sendTelnyx({ hello: "world" })).body.outcome).toBe("ignored");
  });

  it("park an unattributed delivery and bill it once when the fax is registered", async () => {
    const subjectId = uniqueSubject();
    const delivered = telnyxFax("fax.delivered", { pages: 5 });
    expect((await sendTelnyx(delivered)).body.outcome).toBe("parked");
    const parked = await api("GET", "/v1/webhooks/unattributed?limit=1000");
    expect(parked.body.data.map((p: { faxId: string }) => p.faxId)).toContain(faxIdOf(delivered));
    expect((await sendTelnyx(delivered)).body.outcome).toBe("parked");

    const registration = { provider: "telnyx", faxId: faxIdOf(delivered), subjectId };
    const first = await api("POST", "/v1/faxes", { body: registration });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ billed: true, fax: { subjectId, status: "delivered", pageCount: 5 } });
    const second = await api("POST", "/v1/faxes", { body: registration });
    expect(second.body.billed).toBe(false);
    expect(await counterTotal(subjectId, "fax")).toBe(5);
    const after = await api("GET", "/v1/webhooks/unattributed?limit=1000");
    expect(after.body.data.map((p: { faxId: string }) => p.faxId)).not.toContain(faxIdOf(delivered));
    const other = await api("POST", "/v1/faxes", { body: { ...registration, subjectId: "someone-else" } });
    expect(other.status).toBe(409);
    expect((await sendTelnyx(delivered)).body.outcome).toBe("already_billed");
  });

  it("bill to the registry when the fax was registered before delivery", async () => {
    const subjectId = uniqueSubject();
    const delivered = telnyxFax("fax.delivered", { pages: 2 });
    await api("POST", "/v1/faxes", { body: { provider: "telnyx", faxId: faxIdOf(delivered), subjectId } });
    expect((await sendTelnyx(delivered)).body.outcome).toBe("billed");
    expect(await counterTotal(subjectId, "fax")).toBe(2);
  });
});

/** Page counts no bill may carry (far too many, fractional, negative, none, a string, absent), and what the receipt keeps. */
const BAD_PAGE_COUNTS: [string, unknown, number | null][] = [
  ["1e300", 1e300, null],
  ["2.5", 2.5, null],
  ["-3", -3, null],
  ["0", 0, 0],
  ['"7"', "7", null],
  ["absent", null, null],
];

async function receiptOf(faxId: string) {
  return env.DB.prepare("SELECT page_count, refusal_reason FROM webhook_receipts WHERE fax_id = ?").bind(faxId).first();
}

describe("page counts a bill cannot carry", () => {
  it.each(BAD_PAGE_COUNTS)(
    "Telnyx page_count %s: 200 refused with the reason on the receipt, nothing billed",
    async (_name, pages, kept) => {
      const subjectId = uniqueSubject("pages");
      const delivered = telnyxFax("fax.delivered", { pages: pages as number | null, subjectId });
      const res = await sendTelnyx(delivered);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ received: true, outcome: "refused", reason: "INVALID_PAGE_COUNT" });
      expect(await receiptOf(faxIdOf(delivered))).toEqual({ page_count: kept, refusal_reason: "INVALID_PAGE_COUNT" });
      expect(await fax("telnyx", faxIdOf(delivered))).toMatchObject({ status: "delivered", page_count: kept });
      expect(await counterTotal(subjectId, "fax")).toBe(0);
      await flushLedger(subjectId);
      expect(await historyRows(subjectId)).toBe(0);
    },
  );

  it.each(BAD_PAGE_COUNTS)("Notifyre Pages %s: 200 refused with the reason on the receipt, nothing billed", async (_name, pages, kept) => {
    const subjectId = uniqueSubject("pages");
    const sent = notifyreFax("fax_sent", { pages: pages as number | null, reference: subjectId });
    const res = await sendNotifyre(sent);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true, outcome: "refused", reason: "INVALID_PAGE_COUNT" });
    expect(await receiptOf(sent.Payload.ID as string)).toEqual({ page_count: kept, refusal_reason: "INVALID_PAGE_COUNT" });
    expect(await counterTotal(subjectId, "fax")).toBe(0);
  });

  it("still bills a normal page count, up to the page cap, from both providers", async () => {
    const subjectId = uniqueSubject("pages");
    const telnyx = telnyxFax("fax.delivered", { pages: 7, subjectId });
    expect((await sendTelnyx(telnyx)).body).toEqual({ received: true, outcome: "billed" });
    expect(await receiptOf(faxIdOf(telnyx))).toEqual({ page_count: 7, refusal_reason: null });
    const notifyre = notifyreFax("fax_sent", { pages: MAX_FAX_PAGES, reference: subjectId });
    expect((await sendNotifyre(notifyre)).body).toEqual({ received: true, outcome: "billed" });
    const over = notifyreFax("fax_sent", { pages: MAX_FAX_PAGES + 1, reference: subjectId });
    expect((await sendNotifyre(over)).body.outcome).toBe("refused");
    expect(await counterTotal(subjectId, "fax")).toBe(7 + MAX_FAX_PAGES);
  });

  it("records page counts of faxes it does not bill as they are, when they are counts", async () => {
    const received = telnyxFax("fax.received", { pages: 6, direction: "inbound" });
    expect((await sendTelnyx(received)).body).toEqual({ received: true, outcome: "recorded" });
    expect(await receiptOf(faxIdOf(received))).toEqual({ page_count: 6, refusal_reason: null });
    const failed = telnyxFax("fax.failed", { pages: 2.5, failureReason: "user_busy" });
    expect((await sendTelnyx(failed)).body).toEqual({ received: true, outcome: "recorded" });
    expect(await receiptOf(faxIdOf(failed))).toEqual({ page_count: null, refusal_reason: null });
  });
});

describe("provider ids that are not well-formed Unicode", () => {
  it("a lone surrogate in a delivered fax's id bills nothing and never answers 5xx (the provider would retry forever)", async () => {
    const subjectId = uniqueSubject("lone-fax");
    const telnyx = await sendTelnyx(telnyxFax("fax.delivered", { faxId: "fax-\ud800", pages: 2, subjectId }));
    expect(telnyx.status).toBe(200);
    const notifyre = await sendNotifyre(notifyreFax("fax_sent", { id: "nf-\udc00", pages: 2, reference: subjectId }));
    expect(notifyre.status).toBe(200);
    expect(await counterTotal(subjectId, "fax")).toBe(0);
    // The subject is not harmed: its next fax bills.
    expect((await sendTelnyx(telnyxFax("fax.delivered", { pages: 1, subjectId }))).body.outcome).toBe("billed");
    expect(await counterTotal(subjectId, "fax")).toBe(1);
  });
});

describe("Notifyre webhooks", () => {
  it("bill a successful fax_sent to its Reference once", async () => {
    const subjectId = uniqueSubject("nf");
    const sent = notifyreFax("fax_sent", { pages: 3, status: "Successful", reference: subjectId });
    expect((await sendNotifyre(sent)).body.outcome).toBe("billed");
    expect((await sendNotifyre(sent)).body.outcome).toBe("already_billed");
    expect((await sendNotifyre({ ...sent, Payload: { ...sent.Payload, Status: "completed" } })).body.outcome).toBe("already_billed");
    expect(await counterTotal(subjectId, "fax")).toBe(3);
    expect(await fax("notifyre", sent.Payload.ID as string)).toMatchObject({ status: "delivered", page_count: 3 });
  });

  it("record failures and pending states without billing, and keep a missing page count null", async () => {
    const subjectId = uniqueSubject("nf");
    const failed = notifyreFax("fax_sent", { status: "Failed", reference: subjectId, pages: null });
    expect((await sendNotifyre(failed)).body.outcome).toBe("recorded");
    expect(await fax("notifyre", failed.Payload.ID as string)).toMatchObject({ status: "failed", page_count: null });
    expect((await sendNotifyre(notifyreFax("fax_sent", { status: "queued", reference: subjectId }))).body.outcome).toBe("recorded");
    expect((await sendNotifyre(notifyreFax("fax_received", { pages: 2 }))).body.outcome).toBe("recorded");
    expect((await sendNotifyre(notifyreFax("sms_received"))).status).toBe(200);
    expect(await counterTotal(subjectId, "fax")).toBe(0);
  });

  it.each([
    ["a tampered body", { body: (raw: string) => raw.replace('"Pages":3', '"Pages":4') }],
    ["another secret", { secret: "not-the-secret" }],
    ["a stale timestamp", { t: String(Math.floor(Date.now() / 1000) - 400) }],
    ["a far-future timestamp", { t: String(Math.floor(Date.now() / 1000) + 400) }],
    ["no header", { header: null }],
    ["a malformed header", { header: "v=abc" }],
  ])("refuse %s with 401 and store nothing", async (_name, alter) => {
    const subjectId = uniqueSubject("nf");
    const sent = notifyreFax("fax_sent", { pages: 3, reference: subjectId });
    const res = await sendNotifyre(sent, alter);
    expect(res.status).toBe(401);
    expect(await receiptsFor(sent.Payload.ID as string)).toBe(0);
    expect(await counterTotal(subjectId, "fax")).toBe(0);
  });
});
