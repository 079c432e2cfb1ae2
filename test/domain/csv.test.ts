import { describe, expect, it } from "vitest";
import { toCsvRow } from "../../src/domain/csv";
import { parseCsv } from "../helpers/csv";

describe("toCsvRow", () => {
  it("quotes commas, quotes, CR and LF per RFC 4180", () => {
    expect(toCsvRow(["a", 'say "hi"', "x,y", "l1\nl2"])).toBe('a,"say ""hi""","x,y","l1\nl2"\r\n');
  });

  // Hostile cells a spreadsheet would run as formulas (OWASP CSV injection).
  it.each([
    ['=HYPERLINK("http://evil.test","x")', '\'=HYPERLINK("http://evil.test","x")'],
    ["+1+1", "'+1+1"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\t=1", "'\t=1"],
    ["\r=1", "'\r=1"],
  ])("neutralises %j with a leading quote, then quotes as usual", (cell, shown) => {
    const row = toCsvRow(["id", cell]);
    expect(parseCsv(row)).toEqual([["id", shown]]);
  });

  it("leaves cells that only contain those characters later alone, and numbers as they are", () => {
    expect(toCsvRow(["a=b", "1-2", "x@y", -1.5, 0])).toBe("a=b,1-2,x@y,-1.5,0\r\n");
  });
});
