import { describe, expect, it } from "vitest";
import { CSV_JS } from "../../src/dashboard/browser/csv";
import { DATE_RANGE_JS } from "../../src/dashboard/browser/date-range";
import { FORMAT_JS } from "../../src/dashboard/browser/format";
import { USAGE_PANELS_JS } from "../../src/dashboard/browser/usage-panels";
import { DASHBOARD_JS } from "../../src/dashboard/script";
import { toCsvRow, type CsvCell } from "../../src/domain/csv";

/** The dashboard's browser code is strings; these check it without a browser (test/browser drives it in one). */
describe("the dashboard's browser code", () => {
  it("is one script that parses, its parts declaring no name twice", () => {
    expect(() => new Function(DASHBOARD_JS)).not.toThrow();
  });

  it("puts data into the page as text only: no markup parsing anywhere", () => {
    expect(DASHBOARD_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser/);
  });

  it("writes CSV as the server's export does: RFC 4180 quoting and the same formula guard", () => {
    const toCsv = new Function(`${CSV_JS}; return toCsv;`)() as (rows: CsvCell[][]) => string;
    const rows: CsvCell[][] = [
      ["=SUM(A1:A2)", "+1", "-2", "@cmd", "\tTAB", "\rCR", "plain"],
      ['say "hi"', "a,b", "two\nlines", "", "<img src=x onerror=alert(1)>", "__proto__", "'quoted"],
      [-1.5, 0, 12345.6789, "=1+1", " =not first", "a\r\nb", "ü ✓"],
    ];
    expect(toCsv(rows)).toBe(rows.map(toCsvRow).join(""));
  });
});

describe("the dashboard's time buckets", () => {
  /** The date-range helpers as the page has them, in the process's time zone. */
  const pageHelpers = () =>
    new Function(
      `${FORMAT_JS}\n${DATE_RANGE_JS}\n${USAGE_PANELS_JS}\nreturn { bucketLabels, chartLabels, shortBucketLabel, rangeBounds, timeZone };`,
    )();

  it("labels buckets as the summary does, and a repeated hour as its two offset-labelled buckets", () => {
    const saved = process.env.TZ;
    // A zone with a 25-hour day: 2026-11-01, 01:00 twice.
    process.env.TZ = "America/New_York";
    try {
      const page = pageHelpers();
      expect(page.timeZone).toBe("America/New_York");
      const day = page.rangeBounds({ preset: "custom", from: "2026-11-01", to: "2026-11-01" }, new Date());
      const hours: string[] = page.bucketLabels(day.from, day.to, "hour");
      expect(hours).toHaveLength(24);
      expect(hours.slice(0, 3)).toEqual(["2026-11-01T00:00", "2026-11-01T01:00", "2026-11-01T02:00"]);
      const answered = ["2026-11-01T01:00-05:00", "2026-11-01T01:00-04:00", "2026-11-01T09:00"];
      const bars: string[] = page.chartLabels(hours, answered, "hour");
      expect(bars).toHaveLength(25);
      expect(bars.slice(0, 4)).toEqual(["2026-11-01T00:00", "2026-11-01T01:00-04:00", "2026-11-01T01:00-05:00", "2026-11-01T02:00"]);
      expect(page.shortBucketLabel("2026-11-01T01:00-05:00", "hour")).toBe("01:00 -05:00");
      const month = page.rangeBounds({ preset: "custom", from: "2026-10-28", to: "2026-11-10" }, new Date());
      expect(page.bucketLabels(month.from, month.to, "week")).toEqual(["2026-10-26", "2026-11-02", "2026-11-09"]);
      expect(page.bucketLabels(month.from, month.to, "quarter")).toEqual(["2026-10-01"]);
      expect(page.chartLabels(["2026-10-01"], ["2026-Q4"], "quarter")).toEqual(["2026-Q4"]);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
