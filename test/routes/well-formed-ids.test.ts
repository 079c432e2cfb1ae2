import { describe, expect, it } from "vitest";
import { api, counterTotal, flushLedger, historyRows, uniqueSubject } from "../helpers/api";

/** A lone surrogate: valid in a JS string and in JSON (`"\ud800"`), but not Unicode text SQLite can keep. */
const LONE = "\ud800";
const recent = new Date(Date.now() - 3_600_000).toISOString();

type Case = { name: string; method: string; path: (s: string) => string; body: (s: string) => unknown; issue: string };

const usage = (s: string, patch: Record<string, unknown>) => ({ subjectId: s, meter: "api_call", ...patch });
const CASES: Case[] = [
  { name: "subjectId", method: "POST", path: () => "/v1/usage", body: (s) => usage(`${s}${LONE}`, {}), issue: "subjectId" },
  {
    name: "idempotencyKey",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => usage(s, { idempotencyKey: `k${LONE}` }),
    issue: "idempotencyKey",
  },
  { name: "unit", method: "POST", path: () => "/v1/usage", body: (s) => usage(s, { unit: `call${LONE}` }), issue: "unit" },
  {
    name: "dimension value",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => usage(s, { dimensions: { schoolId: LONE } }),
    issue: "dimensions.schoolId",
  },
  {
    name: "dimension name",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => usage(s, { dimensions: { [`a${LONE}`]: "x" } }),
    issue: `dimensions.a${LONE}`,
  },
  {
    name: "metadata, deep",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => usage(s, { metadata: { a: { b: ["ok", LONE] } } }),
    issue: "metadata.a.b.1",
  },
  {
    name: "metadata key",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => usage(s, { metadata: { [`k${LONE}`]: 1 } }),
    issue: `metadata.k${LONE}`,
  },
  {
    name: "seed userId",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => ({ userId: `${s}${LONE}`, type: "api_call", usageAmount: 1 }),
    issue: "userId",
  },
  {
    name: "seed message key",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => ({ userId: s, entitlementKey: "api_call", idempotencyKey: LONE }),
    issue: "idempotencyKey",
  },
  {
    name: "pantry LogID",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => ({ LogID: `L${LONE}`, PantryID: s, DateTimeOfUse: recent, NumberOfItemsTaken: 1 }),
    issue: "LogID",
  },
  {
    name: "pantry ItemType",
    method: "POST",
    path: () => "/v1/usage",
    body: (s) => ({ LogID: 1, PantryID: s, DateTimeOfUse: recent, NumberOfItemsTaken: 1, ItemType: LONE }),
    issue: "ItemType",
  },
  {
    name: "batch item",
    method: "POST",
    path: () => "/v1/usage/batch",
    body: (s) => ({ events: [usage(s, {}), usage(s, { idempotencyKey: LONE })] }),
    issue: "events.1.idempotencyKey",
  },
  {
    name: "async item",
    method: "POST",
    path: () => "/v1/usage/async",
    body: (s) => ({ events: [usage(s, { dimensions: { itemType: LONE } })] }),
    issue: "events.0.dimensions.itemType",
  },
  {
    name: "consume key",
    method: "POST",
    path: (s) => `/v1/subjects/${s}/entitlements/api_call/consume`,
    body: () => ({ amount: 1, idempotencyKey: LONE }),
    issue: "idempotencyKey",
  },
  {
    name: "consume metadata",
    method: "POST",
    path: (s) => `/v1/subjects/${s}/entitlements/api_call/consume`,
    body: () => ({ amount: 1, metadata: { note: LONE } }),
    issue: "metadata.note",
  },
  {
    name: "increment dimensions",
    method: "POST",
    path: (s) => `/v1/subjects/${s}/meters/storage/increment`,
    body: () => ({ amount: 1, dimensions: { schoolId: LONE } }),
    issue: "dimensions.schoolId",
  },
  {
    name: "set key",
    method: "PUT",
    path: (s) => `/v1/subjects/${s}/meters/storage`,
    body: () => ({ value: 1, idempotencyKey: LONE }),
    issue: "idempotencyKey",
  },
  {
    name: "fax registration id",
    method: "POST",
    path: () => "/v1/faxes",
    body: (s) => ({ provider: "telnyx", faxId: `fax${LONE}`, subjectId: s }),
    issue: "faxId",
  },
  {
    name: "reserve key",
    method: "POST",
    path: (s) => `/v1/subjects/${s}/entitlements/api_call/reserve`,
    body: () => ({ amount: 1, idempotencyKey: LONE }),
    issue: "idempotencyKey",
  },
  {
    name: "reserve dimensions",
    method: "POST",
    path: (s) => `/v1/subjects/${s}/entitlements/api_call/reserve`,
    body: () => ({ amount: 1, dimensions: { schoolId: LONE } }),
    issue: "dimensions.schoolId",
  },
  {
    name: "grant key",
    method: "POST",
    path: (s) => `/v1/subjects/${s}/grants`,
    body: () => ({ meter: "api_call", amount: 1, idempotencyKey: LONE }),
    issue: "idempotencyKey",
  },
  {
    name: "grant metadata",
    method: "POST",
    path: (s) => `/v1/subjects/${s}/grants`,
    body: () => ({ meter: "api_call", amount: 1, metadata: { note: [LONE] } }),
    issue: "metadata.note.0",
  },
  { name: "meter unit", method: "PUT", path: () => "/v1/meters/lone_unit_meter", body: () => ({ unit: LONE }), issue: "unit" },
];

describe("ids, keys and text must be well-formed Unicode", () => {
  it.each(CASES)(
    "a lone surrogate in $name is 400, writes nothing, and the subject keeps working",
    async ({ method, path, body, issue }) => {
      const subjectId = uniqueSubject("lone");
      const res = await api(method, path(subjectId), { body: body(subjectId) });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(issue);

      // Twice: the seed bug accepted the first write and answered 503 ever after.
      for (const status of [201, 201]) {
        expect((await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call" } })).status).toBe(status);
      }
      expect(await counterTotal(subjectId, "api_call")).toBe(2);
      expect(await counterTotal(subjectId, "storage")).toBe(0);
      await flushLedger(subjectId);
      expect(await historyRows(subjectId)).toBe(2);
    },
  );

  it("a lone surrogate in the Idempotency-Key header's schema is refused too", async () => {
    // Headers cannot carry a lone surrogate over HTTP; the schema still refuses one.
    const { IdempotencyHeaderSchema } = await import("../../src/routes/schemas");
    expect(IdempotencyHeaderSchema.safeParse({ "idempotency-key": `k${LONE}` }).success).toBe(false);
    expect(IdempotencyHeaderSchema.safeParse({ "idempotency-key": "k" }).success).toBe(true);
  });
});
