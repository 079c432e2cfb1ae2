import { describe, expect, it } from "vitest";
import { api, breakLedger, counterTotal, uniqueSubject } from "../helpers/api";
import { notifyreFax, sendNotifyre, sendTelnyx, telnyxFax } from "../helpers/webhooks";

/** Issue 13 §3.9: a provider's fax is billed once, whichever subjects its deliveries name. */

type Provider = "telnyx" | "notifyre";
const PROVIDERS: Provider[] = ["telnyx", "notifyre"];

/** A signed delivery announcing the fax delivered, naming the subject (or, without one, none). */
function deliver(provider: Provider, faxId: string, subjectId?: string, pages = 3) {
  return provider === "telnyx"
    ? sendTelnyx(telnyxFax("fax.delivered", { faxId, pages, ...(subjectId ? { subjectId } : {}) }))
    : sendNotifyre(notifyreFax("fax_sent", { id: faxId, pages, ...(subjectId ? { reference: subjectId } : {}) }));
}

const newFaxId = (provider: Provider) => `${provider}-once-${crypto.randomUUID()}`;
const readFax = (provider: Provider, faxId: string) => api("GET", `/v1/faxes/${provider}/${encodeURIComponent(faxId)}`);
const conflictsIn = (receipts: { attributionConflict: string | null }[]) =>
  receipts.map((r) => r.attributionConflict).filter((named) => named !== null);
const CONFLICT = { received: true, outcome: "already_billed", reason: "ATTRIBUTION_CONFLICT" };

describe.each(PROVIDERS)("a %s fax whose deliveries name different subjects", (provider) => {
  it.each([["A then B"], ["B then A"]])("is billed once, to the first named (%s); the other is kept as a conflict", async (order) => {
    const [a, b] = [uniqueSubject("once-a"), uniqueSubject("once-b")];
    const [first, second] = order === "A then B" ? [a, b] : [b, a];
    const faxId = newFaxId(provider);
    const billed = await deliver(provider, faxId, first, 4);
    expect(billed.body).toEqual({ received: true, outcome: "billed" });
    const conflicting = await deliver(provider, faxId, second, 4);
    expect(conflicting.status).toBe(200);
    expect(conflicting.body).toEqual(CONFLICT);
    expect(await counterTotal(first, "fax")).toBe(4);
    expect(await counterTotal(second, "fax")).toBe(0);
    // The first subject's own redelivery is a plain duplicate.
    expect((await deliver(provider, faxId, first, 4)).body).toEqual({ received: true, outcome: "already_billed" });

    const read = await readFax(provider, faxId);
    expect(read.status).toBe(200);
    expect(read.body.fax).toMatchObject({ provider, faxId, status: "delivered", billedSubjectId: first, billedPages: 4 });
    expect(Date.parse(read.body.fax.billedAt)).not.toBeNaN();
    expect(conflictsIn(read.body.receipts)).toEqual([second]);
  });

  it("bills one of two concurrent deliveries naming different subjects", async () => {
    const subjects = [uniqueSubject("race"), uniqueSubject("race"), uniqueSubject("race")];
    const faxId = newFaxId(provider);
    const answers = await Promise.all(subjects.map((s) => deliver(provider, faxId, s, 2)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers.filter((r) => r.body.outcome === "billed")).toHaveLength(1);
    expect(answers.filter((r) => r.body.reason === "ATTRIBUTION_CONFLICT")).toHaveLength(2);
    const totals = await Promise.all(subjects.map((s) => counterTotal(s, "fax")));
    expect(totals.sort()).toEqual([0, 0, 2]);
    const winner = subjects[answers.findIndex((r) => r.body.outcome === "billed")];
    expect((await readFax(provider, faxId)).body.fax.billedSubjectId).toBe(winner);
  });

  it("still bills the claiming subject, once, when its ledger failed after the claim", async () => {
    const [a, b] = [uniqueSubject("crash-a"), uniqueSubject("crash-b")];
    const faxId = newFaxId(provider);
    const repair = await breakLedger(a);
    const failed = await deliver(provider, faxId, a, 5);
    expect(failed.status).toBe(503);
    // Claimed for A, not billed yet.
    expect((await readFax(provider, faxId)).body.fax).toMatchObject({ billedSubjectId: a, billedPages: 5, billedAt: null });
    expect((await deliver(provider, faxId, b, 5)).body).toEqual(CONFLICT);
    await repair();
    expect((await deliver(provider, faxId, a, 5)).body.outcome).toMatch(/^(already_)?billed$/);
    expect((await deliver(provider, faxId, a, 5)).body).toEqual({ received: true, outcome: "already_billed" });
    expect(await counterTotal(a, "fax")).toBe(5);
    expect(await counterTotal(b, "fax")).toBe(0);
    expect((await readFax(provider, faxId)).body.fax).toMatchObject({ billedSubjectId: a, billedPages: 5 });
  });

  it("bills a parked delivery on registration through the same claim", async () => {
    const [a, b] = [uniqueSubject("parked-a"), uniqueSubject("parked-b")];
    const faxId = newFaxId(provider);
    expect((await deliver(provider, faxId, undefined, 6)).body.outcome).toBe("parked");
    const registered = await api("POST", "/v1/faxes", { body: { provider, faxId, subjectId: a } });
    expect(registered.body.billed).toBe(true);
    expect((await deliver(provider, faxId, b, 6)).body).toEqual(CONFLICT);
    expect(await counterTotal(a, "fax")).toBe(6);
    expect(await counterTotal(b, "fax")).toBe(0);
  });

  it("settles a parked delivery when a delivery naming a subject bills the fax", async () => {
    const [a, b] = [uniqueSubject("parked-a"), uniqueSubject("parked-b")];
    const faxId = newFaxId(provider);
    expect((await deliver(provider, faxId, undefined, 2)).body.outcome).toBe("parked");
    expect((await deliver(provider, faxId, b, 2)).body.outcome).toBe("billed");
    const parked = await api("GET", "/v1/webhooks/unattributed?limit=1000");
    expect(parked.body.data.map((p: { faxId: string }) => p.faxId)).not.toContain(faxId);
    // B's delivery named B in the registry as well.
    expect((await api("POST", "/v1/faxes", { body: { provider, faxId, subjectId: a } })).status).toBe(409);
    expect((await api("POST", "/v1/faxes", { body: { provider, faxId, subjectId: b } })).body.billed).toBe(false);
    expect(await counterTotal(a, "fax")).toBe(0);
    expect(await counterTotal(b, "fax")).toBe(2);
  });

  it("bills a parked fax once when its registration races a delivery naming another subject", async () => {
    const [a, b] = [uniqueSubject("race-a"), uniqueSubject("race-b")];
    const faxId = newFaxId(provider);
    expect((await deliver(provider, faxId, undefined, 7)).body.outcome).toBe("parked");
    const [registration, delivery] = await Promise.all([
      api("POST", "/v1/faxes", { body: { provider, faxId, subjectId: a } }),
      deliver(provider, faxId, b, 7),
    ]);
    expect([200, 409]).toContain(registration.status);
    expect(delivery.status).toBe(200);
    const [billedA, billedB] = [await counterTotal(a, "fax"), await counterTotal(b, "fax")];
    expect([billedA, billedB].sort()).toEqual([0, 7]);
    expect((await readFax(provider, faxId)).body.fax.billedSubjectId).toBe(billedA === 7 ? a : b);
    const parked = await api("GET", "/v1/webhooks/unattributed?limit=1000");
    expect(parked.body.data.map((p: { faxId: string }) => p.faxId)).not.toContain(faxId);
  });

  it("bills a parked delivery once when the ledger failed during its registration", async () => {
    const a = uniqueSubject("parked-crash");
    const faxId = newFaxId(provider);
    expect((await deliver(provider, faxId, undefined, 3)).body.outcome).toBe("parked");
    const repair = await breakLedger(a);
    expect((await api("POST", "/v1/faxes", { body: { provider, faxId, subjectId: a } })).status).toBe(503);
    await repair();
    expect((await api("POST", "/v1/faxes", { body: { provider, faxId, subjectId: a } })).body.billed).toBe(true);
    expect((await api("POST", "/v1/faxes", { body: { provider, faxId, subjectId: a } })).body.billed).toBe(false);
    expect(await counterTotal(a, "fax")).toBe(3);
  });
});
