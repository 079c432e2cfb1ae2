import { describe, expect, it } from "vitest";
import { CSV_JS } from "../../src/dashboard/browser/csv";
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
