import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { TallyClient, TallyError, type Consumed, type Recorded, type Reserved } from "../../src/client";
import { counterTotal, flushLedger, historyRows, SERVICE_KEY, uniqueSubject, userToken } from "../helpers/api";

/**
 * A fetch that reaches the real worker, but for the first `failures` calls answers the client
 * with a server error after the worker has handled the request — the worst case for retries.
 */
function flakyFetch(failures: number, status = 500, headers: Record<string, string> = {}) {
  const calls: string[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    const response = await exports.default.fetch(request);
    calls.push(`${request.method} ${new URL(request.url).pathname} → ${response.status}`);
    if (calls.length <= failures) {
      await response.body?.cancel();
      return new Response(JSON.stringify({ error: { code: "INTERNAL_ERROR", message: "lost", requestId: "x" } }), { status, headers });
    }
    return response;
  };
  return { fetcher, calls };
}

const client = (fetcher: typeof fetch, extra: Partial<ConstructorParameters<typeof TallyClient>[0]> = {}) =>
  new TallyClient({ baseUrl: "http://tally.test", token: SERVICE_KEY, fetch: fetcher, retryBaseMs: 1, ...extra });

describe("TallyClient", () => {
  it("retries a write whose first two answers were lost, and it counts once", async () => {
    const subjectId = uniqueSubject("client");
    const { fetcher, calls } = flakyFetch(2);
    const recorded: Recorded = await client(fetcher).record({ subjectId, meter: "fax", amount: 3 });
    expect(calls).toHaveLength(3);
    expect(recorded.status).toBe("duplicate"); // the first attempt had landed
    expect(await counterTotal(subjectId, "fax")).toBe(3);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(1);
  });

  it("gives consume a key, so a retried consume is decided once", async () => {
    const subjectId = uniqueSubject("client");
    const { fetcher, calls } = flakyFetch(2, 503, { "retry-after": "0" });
    const tally = client(fetcher);
    const consumed: Consumed = await tally.consume(subjectId, "api_call", { amount: 2 });
    expect(calls).toHaveLength(3);
    expect(consumed).toMatchObject({ allowed: true, used: 2, status: "duplicate" });
    expect(await counterTotal(subjectId, "api_call")).toBe(2);
  });

  it("does not retry what the server refused, and throws its error envelope", async () => {
    const { fetcher, calls } = flakyFetch(0);
    const error = await client(fetcher)
      .record({ subjectId: "x", meter: "no_such_meter" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TallyError);
    expect(error).toMatchObject({ status: 422, code: "UNKNOWN_METER" });
    expect(calls).toHaveLength(1);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const { fetcher, calls } = flakyFetch(10);
    await expect(client(fetcher, { maxAttempts: 3 }).check("x", "fax")).rejects.toMatchObject({ status: 500 });
    expect(calls).toHaveLength(3);
  });

  it("reads typed entitlements, history pages and summaries", async () => {
    const subjectId = uniqueSubject("client");
    const tally = client(flakyFetch(0).fetcher);
    await tally.putPlan("client-plan", { entitlements: { fax: { limit: 10 } } });
    await tally.putSubject(subjectId, { planId: "client-plan" });
    await tally.recordBatch(Array.from({ length: 5 }, (_, i) => ({ subjectId, meter: "fax", dimensions: { schoolId: `S${i % 2}` } })));
    const rows = (await tally.entitlements(subjectId)).data;
    expect(rows.find((r) => r.meter === "fax")).toMatchObject({ used: 5, limit: 10, remaining: 5 });
    await flushLedger(subjectId);
    const seen = [];
    for await (const event of tally.allUsage({ subjectId, limit: 2 })) seen.push(event.id);
    expect(seen).toHaveLength(5);
    const summary = await tally.summary({ subjectId, groupBy: ["dimension.schoolId"] });
    expect(summary.data).toEqual([
      expect.objectContaining({ "dimension.schoolId": "S0", total: 3 }),
      expect.objectContaining({ "dimension.schoolId": "S1", total: 2 }),
    ]);
  });

  it("reads a subject's features with the service key and its own with a user token", async () => {
    const subjectId = uniqueSubject("client");
    const { fetcher } = flakyFetch(0);
    const tally = client(fetcher);
    await tally.putPlan("client-features", { entitlements: {}, features: { sso: false, seats: 5 } });
    await tally.putSubject(subjectId, { planId: "client-features", featureOverrides: { sso: true } });
    const expected = [
      { key: "seats", value: 5, source: "plan" },
      { key: "sso", value: true, source: "override" },
    ];
    expect((await tally.features(subjectId)).data).toEqual(expected);
    const mine = await client(fetcher, { token: await userToken(subjectId) }).myFeatures();
    expect(mine.data).toEqual(expected);
  });
});

describe("TallyClient holds and grants", () => {
  it("reserves (retried safely), commits, releases and reads holds", async () => {
    const subjectId = uniqueSubject("client-hold");
    const tally = client(flakyFetch(0).fetcher);
    await tally.putPlan("client-hold-plan", { entitlements: { fax: { limit: 5 } } });
    await tally.putSubject(subjectId, { planId: "client-hold-plan" });
    // The first answer is lost: the retry carries the same key, so one hold is made.
    const { fetcher, calls } = flakyFetch(1, 503, { "retry-after": "0" });
    const held: Reserved = await client(fetcher).reserve(subjectId, "fax", { amount: 3 });
    expect(calls).toHaveLength(2);
    expect(held).toMatchObject({ status: "duplicate", held: 3, remaining: 2, reservation: { status: "held" } });
    const other = await tally.reserve(subjectId, "fax", { amount: 2, ttlSeconds: 60 });
    const denied = await tally.reserve(subjectId, "fax", { amount: 1 }).catch((e: unknown) => e);
    expect(denied).toMatchObject({ status: 402, code: "LIMIT_EXCEEDED", details: { held: 5, remaining: 0 } });

    const committed = await tally.commitReservation(subjectId, held.reservation.id, 2);
    expect(committed).toMatchObject({ status: "committed", overage: false, event: { amount: 2, grantDraws: [] } });
    expect(await tally.commitReservation(subjectId, held.reservation.id, 2)).toMatchObject({ status: "already_committed" });
    expect((await tally.releaseReservation(subjectId, other.reservation.id)).reservation.status).toBe("released");
    expect((await tally.reservation(subjectId, other.reservation.id)).reservation.status).toBe("released");
    expect((await tally.reservations(subjectId, { status: "committed" })).data.map((r) => r.id)).toEqual([held.reservation.id]);
    const page = await tally.reservations(subjectId, { limit: 1 });
    expect(page.data).toHaveLength(1);
    expect((await tally.reservations(subjectId, { limit: 1, cursor: page.nextCursor! })).data[0]!.id).toBe(held.reservation.id);
    expect((await tally.entitlements(subjectId)).data.find((r) => r.meter === "fax")).toMatchObject({ used: 2, held: 0, granted: 0 });
  });

  it("creates (retried safely), lists and voids grants", async () => {
    const subjectId = uniqueSubject("client-grant");
    const { fetcher, calls } = flakyFetch(1);
    const created = await client(fetcher).createGrant(subjectId, { meter: "fax", amount: 4, priority: 5 });
    expect(calls).toEqual([`POST /v1/subjects/${subjectId}/grants → 201`, `POST /v1/subjects/${subjectId}/grants → 200`]);
    const tally = client(flakyFetch(0).fetcher);
    const listed = await tally.grants(subjectId, { meter: "fax" });
    expect(listed).toEqual({ data: [created.grant], nextCursor: null });
    const voided = await tally.voidGrant(subjectId, created.grant.id);
    expect(voided).toMatchObject({ status: "voided", grant: { status: "voided" } });
    expect((await tally.grants(subjectId)).data).toEqual([]);
    expect((await tally.grants(subjectId, { includeInactive: true })).data.map((g) => g.id)).toEqual([created.grant.id]);
  });
});

describe("BufferedRecorder", () => {
  it("batches by size, flushes the rest on close, and re-sends a failed flush with the same keys", async () => {
    const subjectId = uniqueSubject("buffered");
    const { fetcher, calls } = flakyFetch(1); // the first batch's answer is lost once
    const recorder = client(fetcher, { maxAttempts: 1 }).recorder({ maxBatch: 400, flushIntervalMs: 60_000 });
    for (let i = 0; i < 1000; i++) recorder.record({ subjectId, meter: "api_call", amount: 1 });
    // The size-triggered flush of the first 400 meets the lost answer; they stay queued and go again.
    await recorder.close();
    expect(recorder.pending).toBe(0);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    // 1000, not 1400: the re-sent batch carried the keys it was given when queued.
    expect(await counterTotal(subjectId, "api_call")).toBe(1000);
    expect(() => recorder.record({ subjectId, meter: "api_call" })).toThrow("closed");
  });

  it("flushes a partial batch on its interval, without waiting for size or close", async () => {
    const subjectId = uniqueSubject("buffered");
    const { fetcher, calls } = flakyFetch(0);
    const recorder = client(fetcher).recorder({ maxBatch: 1000, flushIntervalMs: 20 });
    for (let i = 0; i < 5; i++) recorder.record({ subjectId, meter: "api_call", amount: 1 });
    await vi.waitFor(() => expect(recorder.pending).toBe(0), { timeout: 5000, interval: 10 });
    expect(calls).toEqual(["POST /v1/usage/batch → 200"]);
    expect(await counterTotal(subjectId, "api_call")).toBe(5);
    await recorder.close();
    expect(calls).toHaveLength(1);
  });
});
