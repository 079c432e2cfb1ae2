import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, flushLedger, uniqueSubject, userToken } from "../helpers/api";
import { parseCsv } from "../helpers/csv";

/** Names a plain-object lookup finds without anyone having set them: `constructor`, `__proto__`, `toString`… */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);
const NAMES = [...PROTOTYPE_NAMES, "schoolId", "itemType", "pantryId", "endpoint"];

async function exportRows(query: string): Promise<string[][]> {
  const res = await api("GET", `/v1/usage/export.csv?${query}`);
  expect(res.status).toBe(200);
  return parseCsv(res.body as string);
}

describe("dimension names that are Object.prototype members", () => {
  it("never answer 500 on history, me/usage, summaries or export for events without them", async () => {
    const subjectId = uniqueSubject("proto");
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", dimensions: { schoolId: "S1" } } });
    await flushLedger(subjectId);
    const token = await userToken(subjectId);
    for (const name of PROTOTYPE_NAMES) {
      for (const [path, options] of [
        [`/v1/usage?subjectId=${subjectId}&dimension.${name}=x`, {}],
        [`/v1/me/usage?dimension.${name}=x`, { token }],
        [`/v1/usage/summary?subjectId=${subjectId}&dimension.${name}=x`, {}],
        [`/v1/usage/summary?meter=api_call&dimension.${name}=x`, {}],
        [`/v1/usage/summary?subjectId=${subjectId}&groupBy=dimension.${name}`, {}],
        [`/v1/usage/summary?meter=api_call&groupBy=dimension.${name}`, {}],
      ] as const) {
        const res = await api("GET", path, options);
        expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
        if (path.includes("groupBy")) {
          expect(
            res.body.data.every((r: Record<string, unknown>) => r[`dimension.${name}`] === null),
            path,
          ).toBe(true);
        } else {
          expect(res.body.data, path).toEqual([]);
        }
      }
      const [header, row] = await exportRows(`subjectId=${subjectId}&dimensions=${name}`);
      expect(header![10], name).toBe(name);
      expect(row![10], `export column ${name}`).toBe("");
    }
  });

  it("are recorded, listed, filtered, summarised and exported like any other name", async () => {
    const subjectId = uniqueSubject("proto");
    // Raw JSON: "__proto__" is then an own key, as in any client's body.
    const raw = `{"subjectId":"${subjectId}","meter":"api_call","dimensions":{"constructor":"x","__proto__":"y","toString":"z"}}`;
    const created = await api("POST", "/v1/usage", { rawBody: raw });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(Object.keys(created.body.event.dimensions).sort()).toEqual(["__proto__", "constructor", "toString"]);
    expect(created.body.event.dimensions).toEqual(JSON.parse('{"constructor":"x","__proto__":"y","toString":"z"}'));
    await flushLedger(subjectId);

    const listed = await api("GET", `/v1/usage?subjectId=${subjectId}&dimension.__proto__=y&dimension.constructor=x`);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([created.body.event.id]);
    expect(Object.keys(listed.body.data[0].dimensions).sort()).toEqual(["__proto__", "constructor", "toString"]);
    expect((await api("GET", `/v1/usage?subjectId=${subjectId}&dimension.__proto__=nope`)).body.data).toEqual([]);

    const summary = await api("GET", `/v1/usage/summary?subjectId=${subjectId}&groupBy=dimension.__proto__,dimension.constructor`);
    expect(summary.body.data).toEqual([{ "dimension.__proto__": "y", "dimension.constructor": "x", total: 1, count: 1, subjects: 1 }]);

    const [header, row] = await exportRows(`subjectId=${subjectId}&dimensions=__proto__,constructor,valueOf`);
    expect(header!.slice(10, 13)).toEqual(["__proto__", "constructor", "valueOf"]);
    expect(row!.slice(10, 13)).toEqual(["y", "x", ""]);
  });

  it("give the same answers as a brute-force count over any mix of prototype and ordinary names", async () => {
    const event = fc.record({
      meter: fc.constantFrom("api_call", "fax"),
      dimensions: fc.dictionary(fc.constantFrom(...NAMES), fc.constantFrom("a", "b"), { maxKeys: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 8 }), fc.constantFrom(...NAMES), async (events, name) => {
        const subjectId = uniqueSubject("proto-prop");
        // Sent as JSON text so a generated "__proto__" key is an own key, as in any client's body.
        const raw = JSON.stringify({ events: events.map((e) => ({ subjectId, ...e })) });
        const res = await api("POST", "/v1/usage/batch", { rawBody: raw });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        await flushLedger(subjectId);
        const has = (e: (typeof events)[number], value: string) => Object.hasOwn(e.dimensions, name) && e.dimensions[name] === value;

        const history = await api("GET", `/v1/usage?subjectId=${subjectId}&dimension.${name}=a&limit=100`);
        expect(history.status).toBe(200);
        expect(history.body.data).toHaveLength(events.filter((e) => has(e, "a")).length);

        const summary = await api("GET", `/v1/usage/summary?subjectId=${subjectId}&groupBy=dimension.${name}`);
        expect(summary.status).toBe(200);
        const counts = Object.fromEntries(summary.body.data.map((r: Record<string, unknown>) => [String(r[`dimension.${name}`]), r.count]));
        const expected: Record<string, number> = {};
        for (const e of events) {
          const key = Object.hasOwn(e.dimensions, name) ? e.dimensions[name]! : "null";
          expected[key] = (expected[key] ?? 0) + 1;
        }
        expect(counts).toEqual(expected);

        const rows = await exportRows(`subjectId=${subjectId}&dimensions=${name}`);
        const exported = rows
          .slice(1)
          .map((r) => r[10])
          .sort();
        expect(exported).toEqual(events.map((e) => (Object.hasOwn(e.dimensions, name) ? e.dimensions[name] : "")).sort());
      }),
      { numRuns: 25 },
    );
  });
});

describe("meters named like Object.prototype members", () => {
  it("record, check, consume, list and limit like any other meter (constructor, toString, valueOf)", async () => {
    for (const meter of ["constructor", "toString", "valueOf"]) {
      expect([200, 201]).toContain((await api("PUT", `/v1/meters/${meter}`, { body: { unit: "unit" } })).status);
    }
    const subjectId = uniqueSubject("proto-meter");
    expect((await api("POST", "/v1/usage", { body: { subjectId, meter: "constructor", amount: 2 } })).status).toBe(201);
    const check = await api("POST", `/v1/subjects/${subjectId}/entitlements/toString/check`, { body: { amount: 1 } });
    expect(check.body).toMatchObject({ allowed: true, limit: null });
    expect((await api("POST", `/v1/subjects/${subjectId}/entitlements/valueOf/consume`, { body: { amount: 1 } })).status).toBe(200);
    await api("PUT", `/v1/plans/proto-${subjectId}`, { body: { entitlements: { toString: { limit: 1 } } } });
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: `proto-${subjectId}` } });
    expect((await api("POST", `/v1/subjects/${subjectId}/entitlements/toString/consume`, { body: { amount: 1 } })).status).toBe(200);
    expect((await api("POST", `/v1/subjects/${subjectId}/entitlements/toString/consume`, { body: { amount: 1 } })).status).toBe(402);
    const rows = (await api("GET", `/v1/subjects/${subjectId}/entitlements`)).body.data;
    expect(rows.map((r: { meter: string; kind: string; used: number }) => [r.meter, r.kind, r.used])).toEqual([
      ["constructor", "counter", 2],
      ["toString", "counter", 1],
      ["valueOf", "counter", 1],
    ]);
    await flushLedger(subjectId);
  });
});
