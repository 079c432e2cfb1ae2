import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareText, orderRows, previousRange, withPrevious } from "../../src/domain/summary-report";
import type { SummaryQuery } from "../../src/domain/summary-plan";
import { bucketsBetween } from "../../src/domain/time-buckets";

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;
const labels = (from: string, to: string, tz: string) => bucketsBetween(at(from), at(to), "hour", tz)!.map((b) => b.label);

describe("hour buckets", () => {
  it("split a 25-hour day's repeated hour in two, each labelled with its offset", () => {
    const buckets = bucketsBetween(at("2026-11-01T04:00:00Z"), at("2026-11-02T05:00:00Z"), "hour", "America/New_York")!;
    expect(buckets).toHaveLength(25);
    expect(buckets.slice(0, 4)).toEqual([
      { start: at("2026-11-01T04:00:00Z"), end: at("2026-11-01T05:00:00Z"), label: "2026-11-01T00:00" },
      { start: at("2026-11-01T05:00:00Z"), end: at("2026-11-01T06:00:00Z"), label: "2026-11-01T01:00-04:00" },
      { start: at("2026-11-01T06:00:00Z"), end: at("2026-11-01T07:00:00Z"), label: "2026-11-01T01:00-05:00" },
      { start: at("2026-11-01T07:00:00Z"), end: at("2026-11-01T08:00:00Z"), label: "2026-11-01T02:00" },
    ]);
    expect(buckets.at(-1)!.label).toBe("2026-11-01T23:00");
    // However the range is cut: the label depends on the hour, not on the range.
    expect(labels("2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z", "America/New_York")).toEqual([
      "2026-11-01T01:00-05:00",
      "2026-11-01T02:00",
    ]);
  });

  it("leave out a 23-hour day's skipped hour", () => {
    const got = labels("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", "America/New_York");
    expect(got).toHaveLength(23);
    expect(got.slice(0, 3)).toEqual(["2026-03-08T00:00", "2026-03-08T01:00", "2026-03-08T03:00"]);
  });

  it("follow half-hour shifts and offsets (Lord Howe, Kolkata, Kathmandu)", () => {
    // Lord Howe goes back from +11 to +10:30 at 02:00 on 2026-04-05: 01:00 happens for an hour, then for half an hour.
    const back = bucketsBetween(at("2026-04-04T13:00:00Z"), at("2026-04-04T17:00:00Z"), "hour", "Australia/Lord_Howe")!;
    expect(back.map((b) => [b.label, (b.end - b.start) / 60_000])).toEqual([
      ["2026-04-05T00:00", 60],
      ["2026-04-05T01:00+11:00", 60],
      ["2026-04-05T01:00+10:30", 30],
      ["2026-04-05T02:00", 60],
      ["2026-04-05T03:00", 60],
    ]);
    // … and forward at 02:00 on 2026-10-04 to 02:30: its 02:00 lasts half an hour.
    const forward = bucketsBetween(at("2026-10-03T14:30:00Z"), at("2026-10-03T16:00:00Z"), "hour", "Australia/Lord_Howe")!;
    expect(forward.map((b) => [b.label, (b.end - b.start) / 60_000])).toEqual([
      ["2026-10-04T01:00", 60],
      ["2026-10-04T02:00", 30],
    ]);
    expect(bucketsBetween(at("2026-01-01T00:00:00Z"), at("2026-01-01T01:00:00Z"), "hour", "Asia/Kolkata")).toEqual([
      { start: at("2025-12-31T23:30:00Z"), end: at("2026-01-01T00:30:00Z"), label: "2026-01-01T05:00" },
      { start: at("2026-01-01T00:30:00Z"), end: at("2026-01-01T01:30:00Z"), label: "2026-01-01T06:00" },
    ]);
    expect(labels("2026-01-01T00:00:00Z", "2026-01-01T00:30:00Z", "Asia/Kathmandu")).toEqual(["2026-01-01T05:00", "2026-01-01T06:00"]);
  });

  it("tile the range, at most an hour each, and refuse more than 1000", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: at("2026-01-01T00:00:00Z"), max: at("2027-01-01T00:00:00Z") }),
        fc.integer({ min: 1, max: 200 * HOUR }),
        fc.constantFrom("UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kathmandu"),
        (from, length, tz) => {
          const buckets = bucketsBetween(from, from + length, "hour", tz)!;
          expect(buckets[0]!.start).toBeLessThanOrEqual(from);
          expect(buckets.at(-1)!.end).toBeGreaterThanOrEqual(from + length);
          for (const [i, b] of buckets.entries()) {
            expect(b.end - b.start).toBeGreaterThan(0);
            expect(b.end - b.start).toBeLessThanOrEqual(HOUR);
            if (i > 0) expect(b.start).toBe(buckets[i - 1]!.end);
          }
          expect(new Set(buckets.map((b) => b.label)).size).toBe(buckets.length);
        },
      ),
    );
    expect(bucketsBetween(0, 1000 * HOUR, "hour", "UTC")).toHaveLength(1000);
    expect(bucketsBetween(1, 1000 * HOUR + 1, "hour", "UTC")).toBeNull();
    expect(bucketsBetween(0, 1e15, "hour", "UTC")).toBeNull();
  });
});

describe("bucket labels", () => {
  it("write years 0-99 as they are, and years outside 0000-9999 as ISO 8601's signed six digits", () => {
    const year0 = at("0000-01-01T00:00:00Z");
    expect(bucketsBetween(year0, year0 + 2 * 24 * HOUR, "day", "UTC")!.map((b) => b.label)).toEqual(["0000-01-01", "0000-01-02"]);
    expect(bucketsBetween(year0, year0 + HOUR, "week", "UTC")!.map((b) => b.label)).toEqual(["-000001-12-27"]);
    expect(labels("0099-06-01T00:00:00Z", "0099-06-01T01:00:00Z", "UTC")).toEqual(["0099-06-01T00:00"]);
    expect(labels("9999-12-31T23:00:00Z", "9999-12-31T23:30:00Z", "Pacific/Kiritimati")).toEqual(["+010000-01-01T13:00"]);
  });
});

describe("quarter buckets", () => {
  it("are calendar quarters in the zone, labelled with their first date", () => {
    const buckets = bucketsBetween(at("2026-02-10T00:00:00Z"), at("2027-01-05T00:00:00Z"), "quarter", "Asia/Kolkata")!;
    expect(buckets.map((b) => b.label)).toEqual(["2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01", "2027-01-01"]);
    expect(buckets[1]!.start).toBe(at("2026-03-31T18:30:00Z"));
    expect(buckets[0]!.end).toBe(buckets[1]!.start);
  });
});

describe("report rows", () => {
  const query: SummaryQuery = {
    groupBy: ["dimension.x", "day"],
    dimensions: {},
    from: at("2026-03-02T00:00:00Z"),
    to: at("2026-03-04T12:00:00Z"),
    buckets: bucketsBetween(at("2026-03-02T00:00:00Z"), at("2026-03-04T12:00:00Z"), "day", "UTC"),
  };
  const row = (x: string | null, day: string, totalE4: number) => ({ keys: { "dimension.x": x, day }, totalE4, count: 1, subjects: 1 });

  it("move each bucket's part of the range back one range-length, keeping its label", () => {
    const previous = previousRange(query);
    expect(previous.from).toBe(at("2026-02-27T12:00:00Z"));
    expect(previous.to).toBe(query.from);
    expect(previous.buckets).toEqual([
      { label: "2026-03-02", start: at("2026-02-27T12:00:00Z"), end: at("2026-02-28T12:00:00Z") },
      { label: "2026-03-03", start: at("2026-02-28T12:00:00Z"), end: at("2026-03-01T12:00:00Z") },
      { label: "2026-03-04", start: at("2026-03-01T12:00:00Z"), end: at("2026-03-02T00:00:00Z") },
    ]);
  });

  it("pair with the previous range's rows, and keep groups only it has", () => {
    const rows = withPrevious(query, [row("a", "2026-03-02", 5)], [row("a", "2026-03-02", 3), row("b", "2026-03-03", 7)]);
    expect(rows).toEqual([
      { ...row("a", "2026-03-02", 5), previousTotalE4: 3 },
      { keys: { "dimension.x": "b", day: "2026-03-03" }, totalE4: 0, count: 0, subjects: 0, previousTotalE4: 7 },
    ]);
  });

  it("come in group-key order, or by total with ties in that order, then cut", () => {
    const rows = [row("b", "2026-03-02", 1), row(null, "2026-03-03", 2), row("a", "2026-03-03", 2), row("a", "2026-03-02", 9)];
    const keys = (list: typeof rows) => list.map((r) => `${r.keys["dimension.x"]}|${r.keys.day}`);
    expect(keys(orderRows(query, rows, {}))).toEqual(["null|2026-03-03", "a|2026-03-02", "a|2026-03-03", "b|2026-03-02"]);
    expect(keys(orderRows(query, rows, { sort: "-total", limit: 3 }))).toEqual(["a|2026-03-02", "null|2026-03-03", "a|2026-03-03"]);
    expect(keys(orderRows(query, rows, { sort: "total" }))).toEqual(["b|2026-03-02", "null|2026-03-03", "a|2026-03-03", "a|2026-03-02"]);
  });

  it("compare text by code point, as UTF-8 bytes do", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a), Buffer.from(b));
        expect(Math.sign(compareText(a, b))).toBe(bytes);
      }),
    );
    expect(compareText("\u{1F600}", "\uFF5E")).toBeGreaterThan(0);
    expect(compareText(null, "")).toBeLessThan(0);
  });
});
