import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BoundedPeriodKind,
  clampAnchorDay,
  nextPeriod,
  periodContaining,
  previousPeriod,
  type Period,
} from "../../src/domain/periods";
import { windowAt, windowBounds } from "../../src/domain/usage-window";

const DAY = 86_400_000;
const RUNS = { numRuns: 1000 };
const utc = (y: number, m: number, d: number, h = 0, min = 0, s = 0, ms = 0) => Date.UTC(y, m - 1, d, h, min, s, ms);
const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const span = (p: Period) => [ymd(p.start), ymd(p.end)];

/**
 * Reference model A, deliberately naive: list every period start from a year before to a year after
 * by walking month by month with the leap rule and the clamp written out longhand, then pick the
 * one containing t.
 */
function referenceByMonths(t: number, anchor: number): Period {
  const year = new Date(t).getUTCFullYear();
  const starts: number[] = [];
  for (let y = year - 1; y <= year + 1; y++) {
    for (let m = 1; m <= 12; m++) {
      const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
      const length = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
      starts.push(utc(y, m, Math.min(anchor, length)));
    }
  }
  const i = starts.findIndex((s, k) => s <= t && t < starts[k + 1]!);
  return { start: starts[i]!, end: starts[i + 1]! };
}

/**
 * Reference model B, with no month arithmetic at all: a day starts a period when its day of month is
 * the anchor, or when it is the last day of a month too short to reach the anchor. Walk day by day
 * back from t to the nearest such day, and forward to the next one.
 */
function referenceByDays(t: number, anchor: number): Period {
  const isStart = (midnight: number) => {
    const dom = new Date(midnight).getUTCDate();
    const lastOfMonth = new Date(midnight + DAY).getUTCDate() === 1;
    return dom === anchor || (lastOfMonth && dom < anchor);
  };
  let start = Math.floor(t / DAY) * DAY;
  while (!isStart(start)) start -= DAY;
  let end = start + DAY;
  while (!isStart(end)) end += DAY;
  return { start, end };
}

/** Reference for "day": the instant's UTC date, read back as midnight. */
function referenceDay(t: number): Period {
  const start = Date.parse(ymd(t));
  return { start, end: start + DAY };
}

describe("clampAnchorDay", () => {
  it.each([
    [2024, 1, 31, 29],
    [2024, 1, 30, 29],
    [2024, 1, 29, 29],
    [2023, 1, 31, 28],
    [2023, 1, 29, 28],
    [2000, 1, 31, 29],
    [2100, 1, 31, 28],
    [1900, 1, 29, 28],
    [2024, 3, 31, 30],
    [2024, 0, 31, 31],
    [2024, 1, 28, 28],
    [2024, 1, 1, 1],
  ])("%i month0 %i anchor %i → %i", (year, month0, anchor, expected) => {
    expect(clampAnchorDay(year, month0, anchor)).toBe(expected);
  });

  it("refuses anchors and months out of range", () => {
    for (const bad of [0, 32, -1, 1.5, Number.NaN]) expect(() => clampAnchorDay(2024, 1, bad)).toThrow(RangeError);
    for (const bad of [-1, 12, 0.5]) expect(() => clampAnchorDay(2024, bad, 1)).toThrow(RangeError);
  });
});

describe("periodContaining — examples", () => {
  it("day: the UTC calendar day, across month, year and leap-day boundaries", () => {
    expect(span(periodContaining(utc(2025, 3, 15, 13), "day"))).toEqual(["2025-03-15", "2025-03-16"]);
    expect(span(periodContaining(utc(2025, 12, 31, 23, 59, 59, 999), "day"))).toEqual(["2025-12-31", "2026-01-01"]);
    expect(span(periodContaining(utc(2024, 2, 29, 12), "day"))).toEqual(["2024-02-29", "2024-03-01"]);
    expect(span(periodContaining(utc(2023, 2, 28, 12), "day"))).toEqual(["2023-02-28", "2023-03-01"]);
    expect(span(periodContaining(utc(1969, 12, 31, 12), "day"))).toEqual(["1969-12-31", "1970-01-01"]);
  });

  it("month without an anchor (or anchor 1) is the UTC calendar month", () => {
    expect(span(periodContaining(utc(2025, 3, 15, 13), "month"))).toEqual(["2025-03-01", "2025-04-01"]);
    expect(span(periodContaining(utc(2023, 12, 31, 23), "month"))).toEqual(["2023-12-01", "2024-01-01"]);
    expect(span(periodContaining(utc(2024, 2, 29), "month"))).toEqual(["2024-02-01", "2024-03-01"]);
    expect(span(periodContaining(utc(2100, 2, 10), "month"))).toEqual(["2100-02-01", "2100-03-01"]);
    expect(periodContaining(utc(2025, 3, 15), "month", 1)).toEqual(periodContaining(utc(2025, 3, 15), "month"));
    expect(periodContaining(utc(2025, 3, 15), "month", undefined)).toEqual(periodContaining(utc(2025, 3, 15), "month"));
  });

  // Starts of five consecutive periods from the one containing 15 February.
  it.each([
    [29, 2000, ["2000-01-29", "2000-02-29", "2000-03-29", "2000-04-29", "2000-05-29"]],
    [29, 2023, ["2023-01-29", "2023-02-28", "2023-03-29", "2023-04-29", "2023-05-29"]],
    [29, 2024, ["2024-01-29", "2024-02-29", "2024-03-29", "2024-04-29", "2024-05-29"]],
    [29, 2100, ["2100-01-29", "2100-02-28", "2100-03-29", "2100-04-29", "2100-05-29"]],
    [30, 2000, ["2000-01-30", "2000-02-29", "2000-03-30", "2000-04-30", "2000-05-30"]],
    [30, 2023, ["2023-01-30", "2023-02-28", "2023-03-30", "2023-04-30", "2023-05-30"]],
    [30, 2024, ["2024-01-30", "2024-02-29", "2024-03-30", "2024-04-30", "2024-05-30"]],
    [30, 2100, ["2100-01-30", "2100-02-28", "2100-03-30", "2100-04-30", "2100-05-30"]],
    [31, 2000, ["2000-01-31", "2000-02-29", "2000-03-31", "2000-04-30", "2000-05-31"]],
    [31, 2023, ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30", "2023-05-31"]],
    [31, 2024, ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]],
    [31, 2100, ["2100-01-31", "2100-02-28", "2100-03-31", "2100-04-30", "2100-05-31"]],
  ])("anchor %i in %i clamps to the end of February and recovers", (anchor, year, expected) => {
    let p = periodContaining(utc(year, 2, 15), "month", anchor);
    const starts = [ymd(p.start)];
    for (let i = 0; i < 4; i++) {
      p = nextPeriod(p, "month", anchor);
      starts.push(ymd(p.start));
    }
    expect(starts).toEqual(expected);
  });

  it("instants inside clamped February periods", () => {
    expect(span(periodContaining(utc(2024, 3, 1, 12), "month", 30))).toEqual(["2024-02-29", "2024-03-30"]);
    expect(span(periodContaining(utc(2023, 3, 1, 12), "month", 30))).toEqual(["2023-02-28", "2023-03-30"]);
    expect(span(periodContaining(utc(2024, 2, 28, 12), "month", 29))).toEqual(["2024-01-29", "2024-02-29"]);
    expect(span(periodContaining(utc(2100, 3, 29, 0), "month", 29))).toEqual(["2100-03-29", "2100-04-29"]);
    expect(span(periodContaining(utc(2000, 3, 30, 23), "month", 31))).toEqual(["2000-02-29", "2000-03-31"]);
  });

  it("crosses year boundaries with an anchor", () => {
    expect(span(periodContaining(utc(2024, 1, 10), "month", 15))).toEqual(["2023-12-15", "2024-01-15"]);
    expect(span(periodContaining(utc(2025, 1, 1), "month", 31))).toEqual(["2024-12-31", "2025-01-31"]);
    expect(span(periodContaining(utc(2024, 12, 30, 23), "month", 31))).toEqual(["2024-11-30", "2024-12-31"]);
    expect(span(nextPeriod(periodContaining(utc(2024, 12, 20), "month", 20), "month", 20))).toEqual(["2025-01-20", "2025-02-20"]);
    expect(span(previousPeriod(periodContaining(utc(2025, 2, 1), "month", 31), "month", 31))).toEqual(["2024-12-31", "2025-01-31"]);
    expect(span(previousPeriod(periodContaining(utc(2025, 1, 5), "month"), "month"))).toEqual(["2024-12-01", "2025-01-01"]);
    expect(span(nextPeriod(periodContaining(utc(1999, 12, 31, 23), "day"), "day"))).toEqual(["2000-01-01", "2000-01-02"]);
  });

  it.each([
    ["day", 1, utc(2024, 3, 1)],
    ["month", 1, utc(2025, 1, 1)],
    ["month", 31, utc(2024, 2, 29)],
    ["month", 30, utc(2023, 3, 30)],
    ["month", 31, utc(2100, 3, 31)],
  ] as const)("%s anchor %i: a boundary instant belongs to the period it starts", (kind, anchor, boundary) => {
    const p = periodContaining(boundary, kind, anchor);
    expect(p.start).toBe(boundary);
    expect(periodContaining(boundary - 1, kind, anchor).end).toBe(boundary);
    expect(periodContaining(p.end - 1, kind, anchor)).toEqual(p);
    expect(periodContaining(p.end, kind, anchor).start).toBe(p.end);
  });

  it("none: all time, a window without bounds (no sentinel date to format)", () => {
    const closed = { containing: null, closedBefore: utc(2090, 1, 1), closedAfter: null };
    expect(windowAt(utc(2090, 6, 1), "none", 31, closed)).toEqual({ kind: "all-time", start: null, end: null });
    expect(windowBounds(windowAt(0, "none", null, closed))).toEqual({ periodStart: null, periodEnd: null });
  });

  it("keeps the Gregorian calendar in years 0–99 (where Date.UTC would mean 1900–1999)", () => {
    const feb96 = new Date(0).setUTCFullYear(96, 1, 10);
    expect(span(periodContaining(feb96, "month", 31))).toEqual(["0096-01-31", "0096-02-29"]);
  });

  it("refuses anchor days outside 1–31, non-integer anchors and non-finite times", () => {
    for (const bad of [0, 32, -1, 1.5, Number.NaN]) {
      expect(() => periodContaining(0, "month", bad)).toThrow(RangeError);
      expect(() => periodContaining(0, "day", bad)).toThrow(RangeError);
      expect(() => previousPeriod({ start: DAY, end: 2 * DAY }, "month", bad)).toThrow(RangeError);
    }
    for (const kind of ["month", "day"] as const) {
      for (const bad of [Number.NaN, Infinity, -Infinity]) expect(() => periodContaining(bad, kind)).toThrow(RangeError);
    }
    expect(() => periodContaining(9e15, "month")).toThrow(RangeError);
  });
});

describe("periods — properties", () => {
  const FROM = utc(1970, 1, 1);
  const TO = utc(2200, 1, 1) - 1;
  const anyInstant = fc.integer({ min: FROM, max: TO });
  // Midnights and the millisecond before them, where off-by-one errors live.
  const nearMidnight = fc
    .tuple(fc.integer({ min: FROM / DAY + 1, max: Math.floor(TO / DAY) }), fc.constantFrom(0, -1))
    .map(([d, off]) => d * DAY + off);
  // The last days of a month and the first of the next, where the clamp acts; century years weighted up.
  const nearMonthEnd = fc
    .tuple(
      fc.oneof(fc.integer({ min: 1970, max: 2199 }), fc.constantFrom(2000, 2100)),
      fc.integer({ min: 0, max: 11 }),
      fc.integer({ min: -3, max: 1 }),
      fc.integer({ min: 0, max: DAY - 1 }),
    )
    .map(([y, m0, days, ms]) => utc(y, m0 + 2, 1) + days * DAY + ms);
  const instant = fc.oneof(anyInstant, nearMidnight, nearMonthEnd);
  const anchor = fc.integer({ min: 1, max: 31 });
  const kind = fc.constantFrom<BoundedPeriodKind>("month", "day");

  it("agrees with the month-by-month reference for any date and anchor day", () => {
    fc.assert(
      fc.property(instant, anchor, (t, a) => {
        expect(periodContaining(t, "month", a)).toEqual(referenceByMonths(t, a));
      }),
      RUNS,
    );
  });

  it("agrees with the day-by-day reference for any date and anchor day", () => {
    fc.assert(
      fc.property(instant, anchor, (t, a) => {
        expect(periodContaining(t, "month", a)).toEqual(referenceByDays(t, a));
      }),
      RUNS,
    );
  });

  it("calendar months and days agree with their references", () => {
    fc.assert(
      fc.property(instant, (t) => {
        expect(periodContaining(t, "month")).toEqual(referenceByMonths(t, 1));
        expect(periodContaining(t, "day")).toEqual(referenceDay(t));
      }),
      RUNS,
    );
  });

  it("clampAnchorDay is the day the month's period starts on in the day-by-day reference", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1970, max: 2199 }), fc.integer({ min: 0, max: 11 }), anchor, (y, m0, a) => {
        // Every month holds exactly one period start, so the period around its last millisecond began in it.
        const lastMs = utc(y, m0 + 2, 1) - 1;
        expect(clampAnchorDay(y, m0, a)).toBe(new Date(referenceByDays(lastMs, a).start).getUTCDate());
      }),
      RUNS,
    );
  });

  it("the period containing t contains t and is not empty", () => {
    fc.assert(
      fc.property(instant, anchor, kind, (t, a, k) => {
        const p = periodContaining(t, k, a);
        expect(p.start <= t && t < p.end).toBe(true);
        expect(p.start < p.end).toBe(true);
      }),
      RUNS,
    );
  });

  it("nextPeriod starts where the period ends", () => {
    fc.assert(
      fc.property(instant, anchor, fc.constantFrom<BoundedPeriodKind>("month", "day"), (t, a, k) => {
        const p = periodContaining(t, k, a);
        const next = nextPeriod(p, k, a);
        expect(next.start).toBe(p.end);
        expect(next.start < next.end).toBe(true);
      }),
      RUNS,
    );
  });

  it("previousPeriod undoes nextPeriod and ends where the period starts", () => {
    fc.assert(
      fc.property(instant, anchor, kind, (t, a, k) => {
        const p = periodContaining(t, k, a);
        expect(previousPeriod(nextPeriod(p, k, a), k, a)).toEqual(p);
        expect(nextPeriod(previousPeriod(p, k, a), k, a)).toEqual(p);
        expect(previousPeriod(p, k, a).end).toBe(p.start);
      }),
      RUNS,
    );
  });

  it("the period containing its own start (or last millisecond) is itself", () => {
    fc.assert(
      fc.property(instant, anchor, kind, (t, a, k) => {
        const p = periodContaining(t, k, a);
        expect(periodContaining(p.start, k, a)).toEqual(p);
        expect(periodContaining(p.end - 1, k, a)).toEqual(p);
      }),
      RUNS,
    );
  });
});
