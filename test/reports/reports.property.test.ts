import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { StoredEvent } from "../../src/domain/stored-event";
import { type GroupKey, planSummary } from "../../src/domain/summary-plan";
import { type BucketUnit, bucketsBetween } from "../../src/domain/time-buckets";
import { api, userToken } from "../helpers/api";
import { voidManyInHistory, writeHistory } from "../helpers/history";
import { type ModelQuery, modelSummary, summaryParams } from "../helpers/summary-model";

/**
 * The reports options of GET /v1/usage/summary (hour and quarter buckets, `distinct`,
 * `compare=previous`, `sort` and `limit`) against a brute-force model of the raw events
 * (test/helpers/summary-model.ts), rows and their order exactly. The events sit in two windows
 * that hold every DST change of the zones tested, both ways (23- and 25-hour days, Lord Howe's
 * half-hour shifts), many on quarter-hours, on DST changes or a millisecond either side; their
 * dimension values include U+0000, the empty string, quotes and astral characters, and a
 * dimension named `__proto__`; some are voided.
 */

const ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham"];
const DAY = 86_400_000;
const HOUR = 3_600_000;
const QUARTER = 900_000;
/** Spring in the north and autumn in the south, then the other way round. */
const WINDOWS = [
  { start: Date.UTC(2026, 2, 1), days: 70 },
  { start: Date.UTC(2026, 8, 20), days: 52 },
];
const SCHOOLS = ["S1", "S2", "S\u0000", "", "😀 s", 'q"\\'];
const ITEMS = ["canned", "fresh", "ça"];
const USERS = ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u\u0000", "__proto__", ""];

/** Instants where a zone's offset changes in the windows (at quarter-hours in these zones). */
function offsetChanges(): { at: number; tz: string }[] {
  const out: { at: number; tz: string }[] = [];
  for (const tz of ZONES) {
    const format = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" });
    const offset = (t: number) => format.formatToParts(t).find((p) => p.type === "timeZoneName")!.value;
    for (const { start, days } of WINDOWS) {
      for (let t = start; t < start + days * DAY; t += QUARTER) if (offset(t) !== offset(t - QUARTER)) out.push({ at: t, tz });
    }
  }
  return out;
}

const CHANGES = offsetChanges();

const events: StoredEvent[] = [];
const voided = new Set<string>();

beforeAll(async () => {
  // A plain seeded generator: fast-check's samples lean on small values.
  let state = 2026;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state >>> 1;
  };
  // New York, London, Lord Howe and Chatham, each once per window.
  expect(CHANGES.length).toBe(8);
  for (let i = 0; i < 4000; i++) {
    const r = next();
    const window = WINDOWS[i % 5 < 3 ? 0 : 1]!;
    const around = [-1, 0, 1][r % 3]!;
    const at =
      i % 6 === 0
        ? CHANGES[next() % CHANGES.length]!.at + around
        : i % 3 === 0
          ? window.start + (next() % (window.days * 96)) * QUARTER + around
          : window.start + (next() % (window.days * DAY));
    const meter = ["fax", "api_call", "storage"][next() % 3]!;
    const pick = <T>(list: T[]) => list[next() % list.length]!;
    const dimensions: Record<string, string> = {};
    if (next() % 6 !== 0) dimensions.schoolId = pick(SCHOOLS);
    if (next() % 4 !== 0) dimensions.itemType = pick(ITEMS);
    if (next() % 5 !== 0) dimensions.userId = pick(USERS);
    if (next() % 3 === 0) Object.defineProperty(dimensions, "__proto__", { value: pick(["p1", "p2", "p\u0000"]), enumerable: true });
    events.push({
      id: `evt_rp_${i}`,
      subjectId: `rp-${next() % 6}`,
      meter,
      unit: meter === "fax" ? "page" : meter === "storage" ? "byte" : "call",
      amountE4: (next() % 40) * 2500,
      operation: meter === "storage" ? (["add", "remove", "set"] as const)[next() % 3]! : "add",
      occurredAt: at,
      receivedAt: at,
      source: "test",
      idempotencyKey: null,
      dimensions,
      metadata: {},
    });
    if (next() % 12 === 0) voided.add(`evt_rp_${i}`);
  }
  // One event each quarter-hour of New York's 25-hour and 23-hour days of 2026.
  for (const [from, to] of [
    ["2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"],
    ["2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"],
  ] as const) {
    for (let t = Date.parse(from); t < Date.parse(to); t += QUARTER) {
      events.push({
        ...events[0]!,
        id: `evt_rp_dst_${t}`,
        subjectId: "rp-dst",
        meter: "api_call",
        unit: "call",
        amountE4: 10_000,
        operation: "add",
        occurredAt: t,
        receivedAt: t,
        dimensions: {},
      });
    }
  }
  await writeHistory(events);
  await voidManyInHistory([...voided], 1, "property");
});

/** Filters narrow the rows to few: one in four queries has each. */
const rarely = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });

const queryArb = fc.record({
  // A day in a window in any zone, or up to a day and a half before a DST change in its zone.
  start: fc.oneof(
    fc
      .record({ window: fc.constantFrom(...WINDOWS), day: fc.integer({ min: 0, max: 50 }), tz: fc.constantFrom(...ZONES) })
      .map(({ window, day, tz }) => ({ at: window.start + day * DAY, tz })),
    fc
      .record({ change: fc.constantFrom(...CHANGES), hours: fc.integer({ min: -36, max: 0 }) })
      .map(({ change, hours }) => ({ at: Math.floor(change.at / HOUR) * HOUR + hours * HOUR, tz: change.tz })),
  ),
  unit: fc.constantFrom<BucketUnit | null>(null, null, "hour", "hour", "day", "week", "month", "quarter"),
  keys: fc.subarray(["meter", "subjectId", "dimension.schoolId", "dimension.itemType", "dimension.userId", "dimension.__proto__"], {
    maxLength: 2,
  }),
  // Whole quarter-hours (which the rollups answer) or any minute (ragged edges).
  fromMinute: fc.oneof(
    fc.integer({ min: 0, max: 95 }).map((q) => q * 15),
    fc.integer({ min: 0, max: 24 * 60 - 1 }),
  ),
  minutes: fc.oneof(fc.integer({ min: 1, max: 3 * 24 * 60 }), fc.integer({ min: 1, max: 990 * 60 })),
  distinct: fc.option(fc.constantFrom("userId", "schoolId", "itemType", "__proto__"), { nil: undefined }),
  compare: fc.boolean(),
  sort: fc.option(fc.constantFrom<"total" | "-total">("total", "-total"), { nil: undefined }),
  limit: rarely(fc.integer({ min: 1, max: 40 })),
  subjectId: rarely(fc.constantFrom("rp-1", "rp-4")),
  meter: rarely(fc.constantFrom("fax", "storage")),
  school: rarely(fc.constantFrom("S1", "S\u0000", "")),
  includeVoided: fc.boolean(),
});

type RawQuery = typeof queryArb extends fc.Arbitrary<infer T> ? T : never;

function modelQuery(q: RawQuery): ModelQuery {
  const from = q.start.at + q.fromMinute * 60_000;
  // At most 990 hours (a bucket is at most an hour, so at most 1000 buckets); weeks and longer over up to 206 days.
  const stretch = q.unit === "week" || q.unit === "month" || q.unit === "quarter" ? 5 : 1;
  const to = from + q.minutes * stretch * 60_000;
  return {
    groupBy: q.unit === null ? q.keys : [...q.keys, q.unit],
    tz: q.start.tz,
    from,
    to,
    subjectId: q.subjectId,
    meter: q.meter,
    dimensions: q.school === undefined ? {} : { schoolId: q.school },
    includeVoided: q.includeVoided,
    distinct: q.distinct,
    compare: q.compare,
    sort: q.sort,
    limit: q.limit,
  };
}

describe("GET /v1/usage/summary: hour and quarter buckets, distinct, compare, sort and limit", () => {
  it("equals a brute-force model of the raw events, rows in order (property)", async () => {
    const sources = new Set<string>();
    const seen = { rows: 0, nonEmpty: 0, repeatedHours: 0, previousOnly: 0, distinct: 0, cut: 0 };
    await fc.assert(
      fc.asyncProperty(queryArb, async (raw) => {
        const q = modelQuery(raw);
        const unit = raw.unit ?? undefined;
        const buckets = unit ? bucketsBetween(q.from, q.to, unit, q.tz) : null;
        const source = planSummary({
          groupBy: q.groupBy as GroupKey[],
          subjectId: q.subjectId,
          meter: q.meter,
          from: q.from,
          to: q.to,
          dimensions: q.dimensions ?? {},
          buckets,
          includeVoided: q.includeVoided,
          ...(q.distinct === undefined ? {} : { distinct: q.distinct }),
        }).source;
        sources.add(`${source}${q.distinct === undefined ? "" : " with distinct"}`);
        const res = await api("GET", `/v1/usage/summary?${summaryParams(q)}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const expected = modelSummary(events, voided, q);
        expect(res.body.data).toEqual(expected);
        seen.rows += expected.length;
        if (expected.length > 0) seen.nonEmpty += 1;
        if (expected.some((r) => Object.values(r).some((v) => typeof v === "string" && /T\d\d:00[+-]/.test(v)))) seen.repeatedHours += 1;
        if (expected.some((r) => r.count === 0)) seen.previousOnly += 1;
        if (expected.some((r) => typeof r.distinct === "number" && r.distinct > 1)) seen.distinct += 1;
        if (q.limit !== undefined && expected.length === q.limit) seen.cut += 1;
      }),
      { numRuns: 300 },
    );
    expect([...sources].sort()).toEqual(["events", "events with distinct", "rollups", "rollups with distinct"]);
    // What the windows and ranges are there to reach, reached.
    for (const [what, times] of Object.entries(seen)) expect(times, what).toBeGreaterThan(0);
  });
});

describe("GET /v1/usage/summary: the options one by one", () => {
  const summary = (query: string, token?: string) => api("GET", `/v1/usage/summary?${query}`, token === undefined ? {} : { token });

  it("buckets New York's 25-hour day in 25 hours and its 23-hour day in 23", async () => {
    const fall = await summary("subjectId=rp-dst&groupBy=hour&tz=America/New_York&from=2026-11-01T04:00:00Z&to=2026-11-02T05:00:00Z");
    const hours = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `T${String(from + i).padStart(2, "0")}:00`);
    expect(fall.body.data.map((r: { hour: string; count: number }) => [r.hour, r.count])).toEqual(
      ["T00:00", "T01:00-04:00", "T01:00-05:00", ...hours(2, 24)].map((h) => [`2026-11-01${h}`, 4]),
    );
    const spring = await summary("subjectId=rp-dst&groupBy=hour&tz=America/New_York&from=2026-03-08T05:00:00Z&to=2026-03-09T04:00:00Z");
    expect(spring.body.data.map((r: { hour: string; count: number }) => [r.hour, r.count])).toEqual(
      [...hours(0, 2), ...hours(3, 24)].map((h) => [`2026-03-08${h}`, 4]),
    );
    // Each hour's previous window is that hour moved back by the range's two hours: the first one's is before the events.
    const compared = await summary(
      "subjectId=rp-dst&groupBy=hour&tz=America/New_York&from=2026-11-01T05:00:00Z&to=2026-11-01T07:00:00Z&compare=previous",
    );
    expect(compared.body.data).toEqual([
      { hour: "2026-11-01T01:00-04:00", total: 4, count: 4, subjects: 1, previousTotal: 0 },
      { hour: "2026-11-01T01:00-05:00", total: 4, count: 4, subjects: 1, previousTotal: 4 },
    ]);
  });

  it("defaults to the last 24 hours for hours and the last 30 days for compare", async () => {
    for (const [query, length] of [
      ["groupBy=hour", 24 * HOUR],
      ["groupBy=quarter", 30 * DAY],
      ["compare=previous", 30 * DAY],
      ["compare=previous&to=2026-04-01T00:00:00Z", 30 * DAY],
    ] as const) {
      const res = await summary(query);
      expect(res.status, query).toBe(200);
      expect(Date.parse(res.body.to) - Date.parse(res.body.from), query).toBe(length);
    }
    const open = await summary("compare=previous&from=2026-03-01T00:00:00Z");
    expect(Date.now() - Date.parse(open.body.to)).toBeLessThan(60_000);
    // Without a time bucket or compare, no range is implied.
    expect((await summary("sort=-total&limit=1")).body).toMatchObject({ from: null, to: null });
  });

  it("keeps the first rows with limit, sorted or not, ties in group-key order", async () => {
    const range = "from=2026-03-01T00:00:00Z&to=2026-05-10T00:00:00Z";
    const all = (await summary(`groupBy=subjectId&${range}`)).body.data;
    expect(all.map((r: { subjectId: string }) => r.subjectId)).toEqual(["rp-0", "rp-1", "rp-2", "rp-3", "rp-4", "rp-5", "rp-dst"]);
    expect((await summary(`groupBy=subjectId&${range}&limit=2`)).body.data).toEqual(all.slice(0, 2));
    const top = (await summary(`groupBy=subjectId&${range}&sort=-total&limit=3`)).body.data;
    const byTotal = [...all].sort((a, b) => b.total - a.total || (a.subjectId < b.subjectId ? -1 : 1));
    expect(top).toEqual(byTotal.slice(0, 3));
  });

  it("refuses unknown values, each on its own field, with VALIDATION_FAILED", async () => {
    for (const [query, field] of [
      ["sort=TOTAL", "sort"],
      ["sort=", "sort"],
      ["sort=%2Btotal", "sort"],
      ["sort=total&sort=-total", "sort"],
      ["sort=count", "sort"],
      ["compare=next", "compare"],
      ["compare=", "compare"],
      ["compare=previous&compare=previous", "compare"],
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["limit=99999999999999999999999", "limit"],
      ["limit=1e400", "limit"],
      ["limit=1.5", "limit"],
      ["limit=-3", "limit"],
      ["limit=abc", "limit"],
      ["limit=", "limit"],
      ["limit=1&limit=2", "limit"],
      ["distinct=userId", "distinct"],
      ["distinct=", "distinct"],
      ["distinct=dimension.", "distinct"],
      ["distinct=dimension.bad-name", "distinct"],
      ["distinct=Dimension.userId", "distinct"],
      ["distinct=meter", "distinct"],
      ["distinct=subjectId", "distinct"],
      [`distinct=dimension.${"a".repeat(65)}`, "distinct"],
      ["distinct=dimension.a&distinct=dimension.b", "distinct"],
      ["groupBy=hour,day", "groupBy"],
      ["groupBy=quarter,month", "groupBy"],
      ["groupBy=Hour", "groupBy"],
      ["groupBy=hour&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "groupBy"],
      ["groupBy=quarter&from=1000-01-01T00:00:00Z&to=9999-01-01T00:00:00Z", "groupBy"],
    ] as const) {
      const res = await summary(query);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe("VALIDATION_FAILED");
      expect(
        res.body.error.details.issues.map((i: { path: string }) => i.path.split(".")[0]),
        query,
      ).toContain(field);
    }
  });

  it("takes prototype names as dimensions like any other", async () => {
    for (const query of [
      "distinct=dimension.__proto__&groupBy=dimension.constructor",
      "distinct=dimension.constructor",
      "distinct=dimension.toString&groupBy=dimension.__proto__&compare=previous&sort=total",
      "distinct=dimension.hasOwnProperty&dimension.__proto__=p1",
    ]) {
      const res = await summary(`${query}&from=2026-03-01T00:00:00Z&to=2026-05-10T00:00:00Z`);
      expect(res.status, query).toBe(200);
      for (const row of res.body.data) expect(Object.getPrototypeOf(row), query).toBe(Object.prototype);
    }
  });

  it("answers 200 or 400, never 5xx, for any value of the new parameters (property)", async () => {
    const hostile = fc.oneof(
      fc.string(),
      fc.constantFrom("__proto__", "constructor", "dimension.__proto__", "dimension.", "total", "-total", "previous", "1e3", "0x10"),
      fc.integer({ min: -1e6, max: 1e12 }).map(String),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("sort", "compare", "limit", "distinct", "groupBy", "tz"),
        hostile,
        fc.boolean(),
        async (name, value, hour) => {
          const params = new URLSearchParams(hour ? { groupBy: "hour" } : {});
          params.append(name, value);
          const res = await summary(params.toString());
          expect([200, 400], `${params}: ${JSON.stringify(res.body)}`).toContain(res.status);
          if (res.status === 400) expect(res.body.error.code).toBe("VALIDATION_FAILED");
        },
      ),
      { numRuns: 150 },
    );
  });

  it("answers extreme and reversed ranges with 200 or 400, never 5xx", async () => {
    const ranges = [
      ["0000-01-01T00:00:00Z", "0000-01-02T00:00:00Z"],
      ["9999-12-31T00:00:00Z", "9999-12-31T23:59:59.999Z"],
      ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"],
      ["2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z"],
      ["2026-03-01T00:00:00+14:00", "2026-03-01T00:00:00-12:00"],
    ];
    for (const [from, to] of ranges) {
      for (const extra of [
        "groupBy=hour",
        "groupBy=quarter",
        "compare=previous",
        "groupBy=hour&compare=previous&distinct=dimension.userId&sort=-total",
      ]) {
        const query = `${extra}&tz=Australia/Lord_Howe&from=${encodeURIComponent(from!)}&to=${encodeURIComponent(to!)}`;
        const res = await summary(query);
        expect([200, 400], `${query}: ${JSON.stringify(res.body)}`).toContain(res.status);
      }
    }
  });

  it("lets a user token compare and count its own subject only", async () => {
    const own = await summary(
      "subjectId=rp-1&groupBy=day&distinct=dimension.userId&compare=previous&sort=-total&limit=5",
      await userToken("rp-1"),
    );
    expect(own.status).toBe(200);
    expect(own.body.data.length).toBeLessThanOrEqual(5);
    const other = await summary("subjectId=rp-2&distinct=dimension.userId&compare=previous", await userToken("rp-1"));
    expect(other.status).toBe(403);
    expect((await summary("groupBy=hour&compare=previous", await userToken("rp-1"))).status).toBe(403);
  });
});
