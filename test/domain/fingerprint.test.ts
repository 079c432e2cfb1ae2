import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fingerprintEvent, stableStringify } from "../../src/domain/fingerprint";
import type { EventDraft } from "../../src/domain/usage-event";

const draft: EventDraft = {
  idempotencyKey: "fax-8812",
  subjectId: "user_42",
  meter: "fax",
  amount: 3,
  unit: "page",
  timestamp: Date.UTC(2026, 10, 1),
  dimensions: { schoolId: "S1", a: "é" },
  metadata: { z: [1, { b: 2, a: null }], x: "y" },
};

/** Reference, written out longhand: objects as their entries sorted by key (UTF-16 order), undefined left out. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

describe("event fingerprints", () => {
  it("stay the SHA-256 of the canonical body that keys already stored were made with", () => {
    expect(fingerprintEvent(draft)).toBe("165a8d83e1fb43149af1f5b5c9984e3c82f043e3d3b1559a616d857cd51ede8c");
  });

  it("do not depend on key order, and differ when the body does", () => {
    const reordered = { ...draft, metadata: { x: "y", z: [1, { a: null, b: 2 }] }, dimensions: { a: "é", schoolId: "S1" } };
    expect(fingerprintEvent(reordered)).toBe(fingerprintEvent(draft));
    expect(fingerprintEvent({ ...draft, amount: 4 })).not.toBe(fingerprintEvent(draft));
    expect(fingerprintEvent({ ...draft, timestamp: undefined })).not.toBe(fingerprintEvent(draft));
  });

  it("serialise any JSON value with its keys sorted, and parse back to the same value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(stableStringify(value)).toBe(canonical(value));
        expect(JSON.parse(stableStringify(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });
});
