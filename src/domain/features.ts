import type { JsonValue } from "./stored-event";
import { checkEntry, jsonObject } from "./usage-event";
import { malformedTextPath, NOT_WELL_FORMED, wellFormedString } from "./well-formed";

export const MAX_FEATURES = 100;
export const MAX_FEATURE_VALUE_BYTES = 4 * 1024;
/** Objects and arrays nested in one value: `true` has none, `{ "seats": 5 }` one, `{ "a": [1] }` two. */
export const MAX_FEATURE_DEPTH = 10;

/** A meter key's characters and length, with a leading '_' allowed too, so `__proto__` is a feature like any other. */
export const FeatureKey = wellFormedString().regex(
  /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/,
  "letters, digits, '_', '.', '-'; at most 64 characters",
);

export type Features = Record<string, JsonValue>;

/** Plan features or a subject's overrides: feature key → any JSON value. */
export const FeatureMap = jsonObject<JsonValue>()
  .superRefine((features, ctx) => {
    const entries = Object.entries(features);
    if (entries.length > MAX_FEATURES) ctx.addIssue({ code: "custom", message: `at most ${MAX_FEATURES} features` });
    for (const [key, value] of entries) {
      checkEntry(FeatureKey, key, [key], ctx);
      const problem = valueProblem(value);
      if (problem) ctx.addIssue({ code: "custom", path: [key, ...problem.path], message: problem.message });
    }
  })
  .meta({
    type: "object",
    additionalProperties: {},
    maxProperties: MAX_FEATURES,
    description: `Feature key → any JSON value (at most ${MAX_FEATURE_VALUE_BYTES / 1024} KB as JSON, ${MAX_FEATURE_DEPTH} levels of nesting).`,
  });

function valueProblem(value: JsonValue): { path: (string | number)[]; message: string } | null {
  // Depth first, without recursion: a deep value must be refused before anything walks it recursively.
  if (nestedDeeperThan(value, MAX_FEATURE_DEPTH)) return { path: [], message: `at most ${MAX_FEATURE_DEPTH} levels of nesting` };
  const malformed = malformedTextPath(value);
  if (malformed) return { path: malformed, message: NOT_WELL_FORMED };
  if (new TextEncoder().encode(JSON.stringify(value)).length > MAX_FEATURE_VALUE_BYTES) {
    return { path: [], message: `at most ${MAX_FEATURE_VALUE_BYTES / 1024} KB as JSON` };
  }
  return null;
}

function nestedDeeperThan(value: JsonValue, max: number): boolean {
  const pending: [JsonValue, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== "object" || item === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

export interface FeatureRow {
  key: string;
  value: JsonValue;
  source: "plan" | "override";
}

/**
 * The plan's features with the subject's overrides laid over them, key by key, sorted by key.
 * An override of null is a value like any other; a subject drops an override by leaving its key out.
 */
export function effectiveFeatures(plan: Features, overrides: Features): FeatureRow[] {
  // A Map, not an object, so keys such as `__proto__` stay plain data.
  const rows = new Map<string, FeatureRow>();
  for (const [key, value] of Object.entries(plan)) rows.set(key, { key, value, source: "plan" });
  for (const [key, value] of Object.entries(overrides)) rows.set(key, { key, value, source: "override" });
  return [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
