import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FAX_HOLD_TTL_MS } from "../../src/domain/fax";
import { expireDue } from "../../src/ledger/holds";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { api, flushLedger, uniqueSubject } from "../helpers/api";
import { notifyreFax, sendNotifyre, sendTelnyx, telnyxFax } from "../helpers/webhooks";

/** Issue 14 §2: a fax registered with reservePages holds them; the provider's outcome commits or releases the hold. */

type Provider = "telnyx" | "notifyre";
const PROVIDERS: Provider[] = ["telnyx", "notifyre"];

/** A signed delivery that names no subject, so the registry attributes it. */
function deliver(provider: Provider, faxId: string, pages: number, eventId?: string) {
  return provider === "telnyx"
    ? sendTelnyx(telnyxFax("fax.delivered", { faxId, pages, ...(eventId ? { eventId } : {}) }))
    : sendNotifyre(notifyreFax("fax_sent", { id: faxId, pages, status: eventId === undefined ? "successful" : "completed" }));
}

function fail(provider: Provider, faxId: string) {
  return provider === "telnyx"
    ? sendTelnyx(telnyxFax("fax.failed", { faxId, failureReason: "user_busy" }))
    : sendNotifyre(notifyreFax("fax_sent", { id: faxId, pages: 0, status: "failed" }));
}

const register = (body: Record<string, unknown>) => api("POST", "/v1/faxes", { body });
const readFax = (provider: Provider, faxId: string) => api("GET", `/v1/faxes/${provider}/${encodeURIComponent(faxId)}`);

/** A subject whose plan allows `limit` fax pages a month, hard. */
async function subjectWithFaxLimit(limit: number): Promise<string> {
  const planId = `fax-hold-${limit}`;
  const plan = await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit, enforcement: "hard" } } } });
  expect([200, 201], JSON.stringify(plan.body)).toContain(plan.status);
  const subjectId = uniqueSubject("hold");
  expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } })).status).toBe(201);
  return subjectId;
}

/** The subject's fax row of GET …/entitlements, in pages. */
async function faxBalance(subjectId: string) {
  const rows = (await api("GET", `/v1/subjects/${subjectId}/entitlements`)).body.data as { meter: string; used: number; held: number }[];
  const row = rows.find((r) => r.meter === "fax");
  return { used: row?.used ?? 0, held: row?.held ?? 0 };
}

async function registered(provider: Provider, subjectId: string, reservePages?: number) {
  const faxId = `${provider}-hold-${crypto.randomUUID()}`;
  const res = await register({ provider, faxId, subjectId, ...(reservePages === undefined ? {} : { reservePages }) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { faxId, res };
}

describe.each(PROVIDERS)("a %s fax registered with reservePages", (provider) => {
  it("holds the pages, and the registry shows the hold", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const { faxId, res } = await registered(provider, subjectId, 3);
    expect(res.body).toMatchObject({
      fax: { provider, faxId, subjectId, status: null },
      billed: false,
      reservation: { subjectId, meter: "fax", unit: "page", amount: 3, status: "held", committedAmount: null },
    });
    const expiresIn = Date.parse(res.body.reservation.expiresAt) - Date.parse(res.body.reservation.createdAt);
    expect(expiresIn).toBe(86_400_000);
    expect(await faxBalance(subjectId)).toEqual({ used: 0, held: 3 });
    const read = await readFax(provider, faxId);
    expect(read.status).toBe(200);
    expect(read.body.reservation).toEqual(res.body.reservation);
  });

  it.each([
    [3, 5],
    [3, 2],
    [3, 3],
  ])("held %i, delivered %i: commits what the provider delivered", async (held, pages) => {
    const subjectId = await subjectWithFaxLimit(10);
    const { faxId, res } = await registered(provider, subjectId, held);
    const delivered = await deliver(provider, faxId, pages);
    expect(delivered.body).toEqual({ received: true, outcome: "billed" });
    expect(await faxBalance(subjectId)).toEqual({ used: pages, held: 0 });

    const read = await readFax(provider, faxId);
    expect(read.body.reservation).toMatchObject({ id: res.body.reservation.id, status: "committed", committedAmount: pages });
    expect(read.body.fax).toMatchObject({ status: "delivered", billedSubjectId: subjectId, billedPages: pages });
    await flushLedger(subjectId);
    const history = await api("GET", `/v1/usage?subjectId=${subjectId}`);
    expect(history.body.data).toEqual([
      expect.objectContaining({
        id: read.body.reservation.eventId,
        meter: "fax",
        amount: pages,
        source: `webhook:${provider}`,
        idempotencyKey: `${provider}:${faxId}`,
        metadata: expect.objectContaining({ provider, faxId, status: "delivered" }),
      }),
    ]);
  });

  it("releases the hold when the fax fails", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const { faxId } = await registered(provider, subjectId, 4);
    expect((await fail(provider, faxId)).body).toEqual({ received: true, outcome: "recorded" });
    expect(await faxBalance(subjectId)).toEqual({ used: 0, held: 0 });
    expect((await readFax(provider, faxId)).body).toMatchObject({ fax: { status: "failed" }, reservation: { status: "released" } });
  });

  it("changes nothing on duplicate deliveries, or a failure after the delivery", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const { faxId } = await registered(provider, subjectId, 3);
    expect((await deliver(provider, faxId, 5)).body.outcome).toBe("billed");
    expect((await deliver(provider, faxId, 5)).body.outcome).toBe("already_billed");
    // The same delivery announced under another event id, with another count: the first bill stands.
    expect((await deliver(provider, faxId, 7, crypto.randomUUID())).body.outcome).toBe("already_billed");
    await fail(provider, faxId);
    expect(await faxBalance(subjectId)).toEqual({ used: 5, held: 0 });
    expect((await readFax(provider, faxId)).body).toMatchObject({
      fax: { status: "delivered" },
      reservation: { status: "committed", committedAmount: 5 },
    });
  });

  it("still bills a delivery that arrives after a failure: the provider says the pages went out", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const { faxId } = await registered(provider, subjectId, 3);
    await fail(provider, faxId);
    expect((await deliver(provider, faxId, 2)).body.outcome).toBe("billed");
    expect((await deliver(provider, faxId, 2)).body.outcome).toBe("already_billed");
    expect(await faxBalance(subjectId)).toEqual({ used: 2, held: 0 });
    // The first final state stands in the registry; the hold stays released.
    expect((await readFax(provider, faxId)).body).toMatchObject({
      fax: { status: "failed", billedPages: 2 },
      reservation: { status: "released", committedAmount: null },
    });
  });

  it("answers 402 when the hold does not fit the hard limit, and registers nothing", async () => {
    const subjectId = await subjectWithFaxLimit(5);
    const faxId = `${provider}-over-${crypto.randomUUID()}`;
    const denied = await register({ provider, faxId, subjectId, reservePages: 6 });
    expect(denied.status).toBe(402);
    expect(denied.body.error).toMatchObject({
      code: "LIMIT_EXCEEDED",
      details: { allowed: false, used: 0, held: 0, limit: 5, remaining: 5 },
    });
    expect((await readFax(provider, faxId)).status).toBe(404);
    expect(await faxBalance(subjectId)).toEqual({ used: 0, held: 0 });

    // Holds count against the limit: 4 held leaves room for 1 more.
    await registered(provider, subjectId, 4);
    const over = await register({ provider, faxId, subjectId, reservePages: 2 });
    expect(over.status).toBe(402);
    expect(over.body.error.details).toMatchObject({ allowed: false, used: 0, held: 4, limit: 5, remaining: 1 });
    expect((await register({ provider, faxId, subjectId, reservePages: 1 })).status).toBe(200);
    expect(await faxBalance(subjectId)).toEqual({ used: 0, held: 5 });
  });

  it("keeps the first hold when the fax is registered again, with other pages or none", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const { faxId, res } = await registered(provider, subjectId, 3);
    for (const reservePages of [3, 7, undefined]) {
      const again = await register({ provider, faxId, subjectId, ...(reservePages === undefined ? {} : { reservePages }) });
      expect(again.status).toBe(200);
      expect(again.body.reservation).toMatchObject({ id: res.body.reservation.id, amount: 3, status: "held" });
    }
    expect(await faxBalance(subjectId)).toEqual({ used: 0, held: 3 });
  });

  it("takes one hold for concurrent registrations of one fax", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const faxId = `${provider}-race-${crypto.randomUUID()}`;
    const answers = await Promise.all([2, 2, 4].map((reservePages) => register({ provider, faxId, subjectId, reservePages })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.reservation.id)).size).toBe(1);
    const { held } = await faxBalance(subjectId);
    expect([2, 4]).toContain(held);
    expect((await readFax(provider, faxId)).body.reservation).toMatchObject({ amount: held });
  });

  it("adds a hold to a fax registered without one, until its outcome is known", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const { faxId, res } = await registered(provider, subjectId);
    expect(res.body.reservation).toBeNull();
    expect((await register({ provider, faxId, subjectId, reservePages: 2 })).body.reservation).toMatchObject({ status: "held" });
    expect(await faxBalance(subjectId)).toEqual({ used: 0, held: 2 });

    const failed = (await registered(provider, subjectId)).faxId;
    await fail(provider, failed);
    expect((await register({ provider, faxId: failed, subjectId, reservePages: 2 })).body.reservation).toBeNull();
    expect(await faxBalance(subjectId)).toEqual({ used: 0, held: 2 });
  });

  it("leaves nothing held when a hold is registered while the fax is delivered or fails", async () => {
    const subjectId = await subjectWithFaxLimit(1000);
    const faxes = await Promise.all(Array.from({ length: 8 }, () => registered(provider, subjectId).then((r) => r.faxId)));
    await Promise.all(
      faxes.map((faxId, i) =>
        Promise.all([
          register({ provider, faxId, subjectId, reservePages: 3 }),
          i % 2 === 0 ? deliver(provider, faxId, 5) : fail(provider, faxId),
        ]),
      ),
    );
    expect(await faxBalance(subjectId)).toEqual({ used: 4 * 5, held: 0 });
  });

  it("bills a delivery parked before the fax was registered once, and takes no hold for it", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const faxId = `${provider}-parked-${crypto.randomUUID()}`;
    expect((await deliver(provider, faxId, 4)).body.outcome).toBe("parked");
    const res = await register({ provider, faxId, subjectId, reservePages: 6 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ billed: true, reservation: null });
    expect((await register({ provider, faxId, subjectId, reservePages: 6 })).body).toMatchObject({ billed: false, reservation: null });
    expect((await deliver(provider, faxId, 4)).body.outcome).toBe("already_billed");
    expect(await faxBalance(subjectId)).toEqual({ used: 4, held: 0 });
  });

  it("bills a delivery once the hold has expired", async () => {
    const subjectId = await subjectWithFaxLimit(10);
    const { faxId } = await registered(provider, subjectId, 3);
    await expireHolds(subjectId);
    expect(await faxBalance(subjectId)).toEqual({ used: 0, held: 0 });
    expect((await deliver(provider, faxId, 5)).body.outcome).toBe("billed");
    expect((await deliver(provider, faxId, 5)).body.outcome).toBe("already_billed");
    expect(await faxBalance(subjectId)).toEqual({ used: 5, held: 0 });
    expect((await readFax(provider, faxId)).body).toMatchObject({ fax: { billedPages: 5 }, reservation: { status: "expired" } });
  });
});

describe("POST /v1/faxes reservePages", () => {
  it.each([0, 10_001, 1.5, "3", null])("refuses %j with 400 and registers nothing", async (reservePages) => {
    const faxId = `bad-hold-${crypto.randomUUID()}`;
    const res = await register({ provider: "telnyx", faxId, subjectId: uniqueSubject("hold"), reservePages });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect((await readFax("telnyx", faxId)).status).toBe(404);
  });

  it("releases the hold a delivery naming another subject makes useless", async () => {
    const [a, b] = [await subjectWithFaxLimit(10), await subjectWithFaxLimit(10)];
    const { faxId } = await registered("telnyx", a, 3);
    const delivered = await sendTelnyx(telnyxFax("fax.delivered", { faxId, pages: 2, subjectId: b }));
    expect(delivered.body.outcome).toBe("billed");
    expect(await faxBalance(a)).toEqual({ used: 0, held: 0 });
    expect(await faxBalance(b)).toEqual({ used: 2, held: 0 });
    expect((await readFax("telnyx", faxId)).body).toMatchObject({
      fax: { subjectId: a, billedSubjectId: b },
      reservation: { subjectId: a, status: "released" },
    });
  });
});

/** Runs the subject's hold expiry as the ledger's alarm would, a moment after the fax's hold lapsed. */
async function expireHolds(subjectId: string): Promise<void> {
  const expired = await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) =>
    state.storage.transactionSync(() => expireDue(new LedgerStore(state.storage.sql), subjectId, Date.now() + FAX_HOLD_TTL_MS + 1)),
  );
  expect(expired).toBe(1);
}
