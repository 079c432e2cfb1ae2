import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, ledger } from "../helpers/api";

const valid = { subjectId: "prop-subject", meter: "fax", amount: 1 };

/** Values of the wrong type for a field, or right type but out of bounds: each one makes the event invalid. */
const badField = fc.oneof(
  fc.record({
    subjectId: fc.oneof(
      fc.constant(""),
      fc.constant("has space"),
      fc.constant("a/b"),
      fc.integer().map((n) => -Math.abs(n) - 1),
      fc.constant(null),
      fc.string({ minLength: 201, maxLength: 300 }).filter((s) => !/\s/.test(s)),
    ),
  }),
  fc.record({
    meter: fc.oneof(
      fc.constant(""),
      fc.constant("-leading"),
      fc.constant("has space"),
      fc.boolean(),
      fc.string({ minLength: 65, maxLength: 80 }).map((s) => `m${s.replace(/[^a-z]/gi, "a")}`),
    ),
  }),
  fc.record({
    amount: fc.oneof(
      fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
      fc.constant(1e12),
      fc.constant(0.00001),
      fc.string(),
      fc.constant(null),
      fc.array(fc.nat()),
    ),
  }),
  fc.record({ timestamp: fc.oneof(fc.constant("yesterday"), fc.constant("2026-13-40T99:00:00Z"), fc.integer(), fc.constant("")) }),
  fc.record({ unit: fc.oneof(fc.constant(""), fc.integer(), fc.string({ minLength: 33, maxLength: 40 })) }),
  fc.record({ dimensions: fc.oneof(fc.constant("flat"), fc.constant({ "bad name": "x" }), fc.constant({ ok: 1 }), fc.constant([1])) }),
  fc.record({ metadata: fc.oneof(fc.constant("text"), fc.constant([1, 2]), fc.constant({ big: "z".repeat(9000) })) }),
  fc.record({ idempotencyKey: fc.oneof(fc.constant(""), fc.integer(), fc.string({ minLength: 257, maxLength: 300 })) }),
  fc.dictionary(
    fc
      .string({ minLength: 1, maxLength: 10 })
      .filter((k) => !(k in { ...valid, unit: 1, timestamp: 1, dimensions: 1, metadata: 1, idempotencyKey: 1 }) && k !== "__proto__"),
    fc.jsonValue(),
    { minKeys: 1, maxKeys: 3 },
  ),
);

const malformedEvent = fc.oneof(
  badField.map((patch) => ({ ...valid, ...patch })),
  fc.constantFrom<unknown>(null, 1, "event", [], true, {}),
  fc.jsonValue().filter((v) => typeof v !== "object" || v === null || Array.isArray(v)),
);

type Case = { path: string; raw: string; contentType?: string };

const cases: fc.Arbitrary<Case> = fc.oneof(
  malformedEvent.map((e) => ({ path: "/v1/usage", raw: JSON.stringify(e) })),
  fc.array(malformedEvent, { minLength: 1, maxLength: 5 }).chain((bad) =>
    fc.nat({ max: 3 }).map((goodCount) => ({
      path: "/v1/usage/batch",
      // Good events around the bad ones must not be written either.
      raw: JSON.stringify({ events: [...Array.from({ length: goodCount }, () => valid), ...bad] }),
    })),
  ),
  fc
    .oneof(
      fc.constant({}),
      fc.constant({ events: [] }),
      fc
        .jsonValue()
        .map((events) => ({ events }))
        .filter((b) => !Array.isArray(b.events)),
    )
    .map((b) => ({
      path: "/v1/usage/batch",
      raw: JSON.stringify(b),
    })),
  fc
    .string()
    .filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    })
    .chain((raw) => fc.constantFrom("/v1/usage", "/v1/usage/batch").map((path) => ({ path, raw }))),
  fc.record({
    path: fc.constantFrom("/v1/usage", "/v1/usage/batch"),
    raw: fc.constant(JSON.stringify(valid)),
    contentType: fc.constantFrom("text/plain", "application/x-www-form-urlencoded", ""),
  }),
);

describe("malformed input on write endpoints", () => {
  it("always answers 4xx with an error code and writes nothing (1,000+ generated bodies)", async () => {
    await fc.assert(
      fc.asyncProperty(cases, async ({ path, raw, contentType }) => {
        const res = await api("POST", path, { rawBody: raw, headers: contentType === undefined ? {} : { "content-type": contentType } });
        expect(res.status, `${path} ${raw.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.body.error.code).toMatch(/^[A-Z_]+$/);
      }),
      { numRuns: 1200 },
    );
    // Anything accepted would have been flushed by now (ledgers flush within 250 ms).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM usage_events").first<{ n: number }>())!;
    expect(n).toBe(0);
    expect((await ledger(valid.subjectId).state()).counters).toEqual([]);
  });
});
