import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { planSummary, type GroupKey } from "../../src/domain/summary-plan";
import { bucketsBetween, type BucketUnit } from "../../src/domain/time-buckets";
import type { StoredEvent } from "../../src/domain/stored-event";
import { api, userToken } from "../helpers/api";
import { writeHistory } from "../helpers/history";
import { bucketLabel, modelSummary } from "../helpers/summary-model";

const ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham", "Europe/London"];
const DAY = 86_400_000;
const base = Date.UTC(2026, 2, 1); // spans the March and April DST changes in both hemispheres

/** Local midnights in each zone: the edges a bucketing bug would get wrong. */
function midnightsIn(tz: string, days: number): number[] {
  const out: number[] = [];
  for (let t = base - DAY; t < base + days * DAY; t += 15 * 60_000) {
    if (bucketLabel(t, "day", tz) !== bucketLabel(t - 15 * 60_000, "day", tz)) out.push(t);
  }
  return out;
}

const events: StoredEvent[] = [];

beforeAll(async () => {
  const rnd = fc.sample(fc.integer({ min: 0, max: 2 ** 31 }), 2000);
  const edges = ZONES.flatMap((tz) => midnightsIn(tz, 70));
  for (let i = 0; i < 1500; i++) {
    const r = rnd[i]!;
    // A third of the events sit exactly on a local midnight, or a millisecond before one.
    const onEdge = i % 3 === 0 ? edges[r % edges.length]! - (i % 2) : base + (r % (70 * DAY));
    const meter = ["fax", "api_call", "storage"][r % 3]!;
    events.push({
      id: `evt_sum_${i}`,
      subjectId: `sum-${r % 7}`,
      meter,
      unit: meter === "fax" ? "page" : meter === "storage" ? "byte" : "call",
      amountE4: (r % 50) * 2500,
      operation: meter === "storage" ? (["add", "remove", "set"] as const)[r % 3]! : "add",
      occurredAt: onEdge,
      receivedAt: onEdge,
      source: "test",
      idempotencyKey: null,
      dimensions: r % 5 === 0 ? {} : { schoolId: `S${r % 4}`, itemType: ["canned", "fresh"][r % 2]! },
      metadata: {},
    });
  }
  // Written twice, as a repeated ledger flush would: the second pass must add nothing, rollups included.
  for (const _pass of [1, 2]) {
    for (let i = 0; i < events.length; i += 500) {
      await writeHistory(events.slice(i, i + 500));
    }
  }
});

function bruteForce(query: {
  groupBy: string[];
  tz: string;
  from: number;
  to: number;
  subjectId?: string;
  meter?: string;
  schoolId?: string;
}) {
  const { schoolId, ...rest } = query;
  return modelSummary(events, new Set(), { ...rest, dimensions: schoolId ? { schoolId } : {} });
}

describe("GET /v1/usage/summary", () => {
  const sources = new Set<string>();
  it("equals a brute-force sum over the raw events for random groupings, filters and zones (property)", async () => {
    const query = fc.record({
      groupBy: fc
        .subarray(["meter", "subjectId", "dimension.schoolId", "dimension.itemType"])
        .chain((keys) => fc.constantFrom<string | null>(null, "day", "week", "month").map((unit) => (unit ? [...keys, unit] : keys))),
      tz: fc.constantFrom(...ZONES),
      fromDay: fc.integer({ min: 0, max: 40 }),
      fromMinute: fc.integer({ min: 0, max: 24 * 60 - 1 }),
      days: fc.integer({ min: 0, max: 30 }),
      toMinute: fc.integer({ min: 1, max: 24 * 60 }),
      subjectId: fc.option(fc.constantFrom("sum-1", "sum-4"), { nil: undefined }),
      meter: fc.option(fc.constantFrom("fax", "storage"), { nil: undefined }),
      schoolId: fc.option(fc.constantFrom("S1", "S3"), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        // Ranges start and end on any minute, so most have ragged edges that the rollups cannot answer alone.
        const from = base + q.fromDay * DAY + q.fromMinute * 60_000;
        const to = from + q.days * DAY + q.toMinute * 60_000;
        const unit = q.groupBy.find((k): k is BucketUnit => ["day", "week", "month"].includes(k));
        const dimensions: Record<string, string> = q.schoolId ? { schoolId: q.schoolId } : {};
        const buckets = unit ? bucketsBetween(from, to, unit, q.tz) : null;
        sources.add(
          planSummary({ groupBy: q.groupBy as GroupKey[], subjectId: q.subjectId, meter: q.meter, from, to, dimensions, buckets }).source,
        );
        const params = new URLSearchParams({ tz: q.tz, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
        if (q.groupBy.length > 0) params.set("groupBy", q.groupBy.join(","));
        if (q.subjectId) params.set("subjectId", q.subjectId);
        if (q.meter) params.set("meter", q.meter);
        if (q.schoolId) params.set("dimension.schoolId", q.schoolId);
        const res = await api("GET", `/v1/usage/summary?${params}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.data).toEqual(bruteForce({ ...q, from, to }));
      }),
      { numRuns: 200 },
    );
    expect([...sources].sort()).toEqual(["events", "rollups"]);
  });

  it("answers a summary with no range at all from the rollups, equal to the brute-force sum", async () => {
    for (const groupBy of ["meter", "dimension.schoolId", "subjectId", "meter,dimension.itemType"]) {
      const res = await api("GET", `/v1/usage/summary?groupBy=${groupBy}`);
      expect(res.status, groupBy).toBe(200);
      const expected = bruteForce({ groupBy: groupBy.split(","), tz: "UTC", from: 0, to: Number.MAX_SAFE_INTEGER });
      expect(res.body.data, groupBy).toEqual(expected);
    }
  });

  it("defaults to the last 30 days for time buckets and refuses bad groupings and zones", async () => {
    const recent = await api("GET", "/v1/usage/summary?groupBy=day");
    expect(recent.status).toBe(200);
    expect(Date.parse(recent.body.to) - Date.parse(recent.body.from)).toBe(30 * DAY);
    for (const q of [
      "groupBy=day,week",
      "groupBy=colour",
      "groupBy=dimension.bad-name",
      "tz=Mars/Olympus",
      "groupBy=day&from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ]) {
      const res = await api("GET", `/v1/usage/summary?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("lets a user token summarise its own subject only", async () => {
    expect((await api("GET", "/v1/usage/summary?subjectId=sum-1", { token: await userToken("sum-1") })).status).toBe(200);
    expect((await api("GET", "/v1/usage/summary?subjectId=sum-2", { token: await userToken("sum-1") })).status).toBe(403);
    expect((await api("GET", "/v1/usage/summary", { token: await userToken("sum-1") })).status).toBe(403);
  });
});
