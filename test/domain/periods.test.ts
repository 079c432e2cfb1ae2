import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clampAnchorDay, nextPeriod, periodContaining, previousPeriod, type PeriodKind } from "../../src/domain/periods";

const utc = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Reference model, deliberately naive: list every period start from a year before to a year after
 * by walking month by month with the clamp written out longhand, then pick the one containing t.
 */
function referenceMonth(t: number, anchor: number) {
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

describe("periods", () => {
  it("uses calendar months and days in UTC", () => {
    const p = periodContaining(utc(2025, 3, 15, 13), "month");
    expect([day(p.start), day(p.end)]).toEqual(["2025-03-01", "2025-04-01"]);
    const d = periodContaining(utc(2025, 12, 31, 23), "day");
    expect([day(d.start), day(d.end)]).toEqual(["2025-12-31", "2026-01-01"]);
    expect(periodContaining(0, "none")).toEqual(periodContaining(utc(2090, 1, 1), "none"));
  });

  it.each([
    [31, 2023, ["2023-01-31", "2023-02-28", "2023-03-31"]],
    [31, 2024, ["2024-01-31", "2024-02-29", "2024-03-31"]],
    [30, 2100, ["2100-01-30", "2100-02-28", "2100-03-30"]],
    [29, 2000, ["2000-01-29", "2000-02-29", "2000-03-29"]],
    [29, 2023, ["2023-01-29", "2023-02-28", "2023-03-29"]],
  ])("anchor %i in %i clamps to the end of February and recovers", (anchor, year, expected) => {
    let p = periodContaining(utc(year, 2, 1), "month", anchor);
    const starts = [day(p.start)];
    p = nextPeriod(p, "month", anchor);
    starts.push(day(p.start));
    p = nextPeriod(p, "month", anchor);
    starts.push(day(p.start));
    expect(starts).toEqual(expected);
  });

  it("puts a boundary instant in the period it starts", () => {
    const p = periodContaining(utc(2024, 2, 29), "month", 31);
    expect(day(p.start)).toBe("2024-02-29");
    expect(periodContaining(p.end, "month", 31).start).toBe(p.end);
    expect(periodContaining(p.end - 1, "month", 31)).toEqual(p);
  });

  it("refuses anchor days outside 1–31 and non-finite times", () => {
    expect(() => periodContaining(0, "month", 0)).toThrow(RangeError);
    expect(() => periodContaining(0, "month", 32)).toThrow(RangeError);
    expect(() => periodContaining(0, "month", 1.5)).toThrow(RangeError);
    expect(() => periodContaining(Number.NaN, "day")).toThrow(RangeError);
    expect(clampAnchorDay(2024, 1, 31)).toBe(29);
  });

  const instant = fc.integer({ min: utc(1971, 1, 1), max: utc(2199, 12, 1) });
  const anchor = fc.integer({ min: 1, max: 31 });

  it("agrees with the reference model for any date and anchor day (property)", () => {
    fc.assert(
      fc.property(instant, anchor, (t, a) => {
        expect(periodContaining(t, "month", a)).toEqual(referenceMonth(t, a));
      }),
      { numRuns: 2000 },
    );
  });

  it("tiles time: contains t, next starts where it ends, previous undoes next (property)", () => {
    fc.assert(
      fc.property(instant, anchor, fc.constantFrom<PeriodKind>("month", "day"), (t, a, kind) => {
        const p = periodContaining(t, kind, a);
        expect(p.start <= t && t < p.end).toBe(true);
        const next = nextPeriod(p, kind, a);
        expect(next.start).toBe(p.end);
        expect(next.start < next.end).toBe(true);
        expect(previousPeriod(next, kind, a)).toEqual(p);
        expect(periodContaining(p.start, kind, a)).toEqual(p);
      }),
      { numRuns: 2000 },
    );
  });
});
