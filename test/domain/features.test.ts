import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { effectiveFeatures, FeatureMap, type Features, MAX_FEATURE_DEPTH } from "../../src/domain/features";

/** As a request body gives it: parsed JSON text, so `__proto__` is an own key. */
const parsed = (text: string) => JSON.parse(text) as Features;

const issues = (value: unknown) => FeatureMap.safeParse(value).error?.issues.map((i) => ({ path: i.path, message: i.message })) ?? [];

/** `levels` arrays, one inside the other, around 1. */
const nested = (levels: number) => JSON.parse(`${"[".repeat(levels)}1${"]".repeat(levels)}`);

describe("effectiveFeatures", () => {
  it("lays overrides over the plan key by key, sorted by key, with where each comes from", () => {
    expect(effectiveFeatures({ sso: false, seats: 5, theme: "light" }, { sso: true, beta: ["x"] })).toEqual([
      { key: "beta", value: ["x"], source: "override" },
      { key: "seats", value: 5, source: "plan" },
      { key: "sso", value: true, source: "override" },
      { key: "theme", value: "light", source: "plan" },
    ]);
    expect(effectiveFeatures({}, {})).toEqual([]);
  });

  it("takes an override of null as a value, not as a removal", () => {
    expect(effectiveFeatures({ seats: 5 }, { seats: null })).toEqual([{ key: "seats", value: null, source: "override" }]);
  });

  it("keeps prototype names as plain keys", () => {
    const plan = parsed('{"__proto__":{"polluted":true},"constructor":1,"toString":"s"}');
    const overrides = parsed('{"hasOwnProperty":false,"__proto__":[2]}');
    expect(effectiveFeatures(plan, overrides)).toEqual([
      { key: "__proto__", value: [2], source: "override" },
      { key: "constructor", value: 1, source: "plan" },
      { key: "hasOwnProperty", value: false, source: "override" },
      { key: "toString", value: "s", source: "plan" },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("answers one row per key of either map, the override's value where both have it", () => {
    const map = fc.dictionary(fc.constantFrom("a", "b", "c", "constructor", "__proto__", "toString"), fc.jsonValue(), { maxKeys: 6 });
    fc.assert(
      fc.property(map, map, (planMap, overrideMap) => {
        const [plan, overrides] = [parsed(JSON.stringify(planMap)), parsed(JSON.stringify(overrideMap))];
        const rows = effectiveFeatures(plan, overrides);
        const keys = [...new Set([...Object.keys(plan), ...Object.keys(overrides)])].sort();
        expect(rows.map((r) => r.key)).toEqual(keys);
        for (const row of rows) {
          const source = Object.hasOwn(overrides, row.key) ? overrides : plan;
          expect(row).toEqual({ key: row.key, value: source[row.key], source: source === overrides ? "override" : "plan" });
        }
      }),
    );
  });
});

describe("FeatureMap", () => {
  it("takes any JSON value under keys shaped like meter keys, prototype names included", () => {
    const value = parsed(
      '{"sso":true,"seats":5,"ratio":0.25,"tier":"gold","none":null,"list":[1,"a",null],"deep":{"a":{"b":[{"c":"😀"}]}},"__proto__":1,"constructor":{},"api.v2-beta":"x"}',
    );
    const result = FeatureMap.safeParse(value);
    expect(result.success).toBe(true);
    expect(Object.keys(result.data!)).toEqual(Object.keys(value));
    expect(issues({ deep: nested(MAX_FEATURE_DEPTH) })).toEqual([]);
  });

  it("refuses bad keys, too many features, large or deep values and lone surrogates, naming where", () => {
    expect(issues({ "-x": 1 }).map((i) => i.path)).toEqual([["-x"]]);
    expect(issues({ "a b": 1 }).map((i) => i.path)).toEqual([["a b"]]);
    expect(issues({ ["k".repeat(65)]: 1 })).toHaveLength(1);
    expect(issues({ "\ud800": 1 })).not.toEqual([]);
    expect(issues(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, true])))).toEqual([
      { path: [], message: "at most 100 features" },
    ]);
    expect(issues(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, true])))).toEqual([]);
    expect(issues({ big: "x".repeat(4 * 1024 - 2) })).toEqual([]);
    expect(issues({ big: "x".repeat(4 * 1024 - 1) })).toEqual([{ path: ["big"], message: "at most 4 KB as JSON" }]);
    expect(issues({ deep: nested(MAX_FEATURE_DEPTH + 1) })).toEqual([{ path: ["deep"], message: "at most 10 levels of nesting" }]);
    expect(issues({ ok: 1, nested: { list: ["fine", { text: "a\udc00" }] } })).toEqual([
      { path: ["nested", "list", 1, "text"], message: expect.stringMatching(/well-formed/) },
    ]);
    expect(issues({ nested: { "k\ud800": 1 } }).map((i) => i.path)).toEqual([["nested", "k\ud800"]]);
    for (const notAMap of [null, [], "x", 1]) expect(FeatureMap.safeParse(notAMap).success).toBe(false);
  });

  it("refuses a value nested far deeper than the limit without overflowing the stack", () => {
    expect(issues({ deep: nested(200_000) })).toEqual([{ path: ["deep"], message: "at most 10 levels of nesting" }]);
  });
});
