import { describe, expect, it } from "vitest";
import { isWellFormed, malformedTextPath, wellFormedString } from "../../src/domain/well-formed";

const LONE_HIGH = "\ud800";
const LONE_LOW = "\udc00";

describe("well-formed text", () => {
  it("refuses lone surrogates and takes pairs, astral characters and plain text", () => {
    for (const bad of [LONE_HIGH, LONE_LOW, `a${LONE_HIGH}b`, `${LONE_LOW}${LONE_HIGH}`, `x${LONE_HIGH}`]) {
      expect(isWellFormed(bad), JSON.stringify(bad)).toBe(false);
      expect(wellFormedString().safeParse(bad).success).toBe(false);
    }
    for (const good of ["", "plain", "😀", "\ud83d\ude00", "ünïcödé", "\ufffd"]) {
      expect(isWellFormed(good), JSON.stringify(good)).toBe(true);
      expect(wellFormedString().safeParse(good).success).toBe(true);
    }
  });

  it("finds the first malformed string or key anywhere in a JSON value", () => {
    expect(malformedTextPath({ a: 1, b: [true, null, "ok"], c: { d: "fine" } })).toBeNull();
    expect(malformedTextPath(LONE_HIGH)).toEqual([]);
    expect(malformedTextPath({ a: { b: ["ok", `x${LONE_LOW}`] } })).toEqual(["a", "b", 1]);
    expect(malformedTextPath({ ok: 1, [`k${LONE_HIGH}`]: "v" })).toEqual([`k${LONE_HIGH}`]);
    expect(malformedTextPath([[[LONE_HIGH]]])).toEqual([0, 0, 0]);
  });
});
