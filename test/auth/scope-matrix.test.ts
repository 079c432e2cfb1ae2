import { beforeAll, describe, expect, it } from "vitest";
import { SCOPES, type Scope } from "../../src/domain/scopes";
import { api, SERVICE_KEY, userToken } from "../helpers/api";
import { createKey } from "../helpers/api-keys";

/**
 * Who may call what, written out from the contract (issue 17, DESIGN §9) rather than read from
 * the code: `key` is the scope an API key needs ("any": any key; "none": no API key), `users`
 * whether a user token may call it for its own subject. The root key may call everything.
 */
const EXPECTED: Record<string, { key: Scope | "any" | "none"; users: boolean }> = {
  "post /v1/usage": { key: "usage:write", users: false },
  "post /v1/usage/batch": { key: "usage:write", users: false },
  "post /v1/usage/async": { key: "usage:write", users: false },
  "get /v1/usage": { key: "usage:read", users: true },
  "get /v1/usage/{id}": { key: "usage:read", users: true },
  "get /v1/usage/summary": { key: "usage:read", users: true },
  "get /v1/usage/export.csv": { key: "usage:read", users: true },
  "get /v1/periods": { key: "usage:read", users: true },
  "get /v1/notifications": { key: "usage:read", users: true },
  "get /v1/me/usage": { key: "none", users: true },
  "get /v1/me/entitlements": { key: "none", users: true },
  "get /v1/me/features": { key: "none", users: true },
  "get /v1/subjects/{subjectId}": { key: "usage:read", users: true },
  "get /v1/subjects/{subjectId}/entitlements": { key: "usage:read", users: true },
  "get /v1/subjects/{subjectId}/features": { key: "usage:read", users: true },
  "get /v1/subjects/{subjectId}/reservations": { key: "usage:read", users: true },
  "get /v1/subjects/{subjectId}/reservations/{reservationId}": { key: "usage:read", users: true },
  "get /v1/subjects/{subjectId}/grants": { key: "usage:read", users: true },
  "post /v1/subjects/{subjectId}/entitlements/{meter}/check": { key: "entitlements:write", users: true },
  "post /v1/subjects/{subjectId}/entitlements/{meter}/consume": { key: "entitlements:write", users: false },
  "post /v1/subjects/{subjectId}/entitlements/{meter}/reserve": { key: "entitlements:write", users: false },
  "post /v1/subjects/{subjectId}/reservations/{reservationId}/commit": { key: "entitlements:write", users: false },
  "post /v1/subjects/{subjectId}/reservations/{reservationId}/release": { key: "entitlements:write", users: false },
  "post /v1/subjects/{subjectId}/meters/{meter}/increment": { key: "entitlements:write", users: false },
  "post /v1/subjects/{subjectId}/meters/{meter}/decrement": { key: "entitlements:write", users: false },
  "put /v1/subjects/{subjectId}/meters/{meter}": { key: "entitlements:write", users: false },
  "post /v1/subjects/{subjectId}/grants": { key: "entitlements:write", users: false },
  "post /v1/subjects/{subjectId}/grants/{grantId}/void": { key: "entitlements:write", users: false },
  "get /v1/meters": { key: "any", users: true },
  "get /v1/meters/{key}": { key: "any", users: true },
  "post /v1/meters/{key}/archive": { key: "admin", users: false },
  "post /v1/meters/{key}/unarchive": { key: "admin", users: false },
  "get /v1/plans": { key: "admin", users: false },
  "delete /v1/plans/{planId}": { key: "admin", users: false },
  "get /v1/subjects": { key: "admin", users: false },
  "post /v1/dead-letters/{id}/dismiss": { key: "admin", users: false },
  "put /v1/meters/{key}": { key: "admin", users: false },
  "put /v1/plans/{planId}": { key: "admin", users: false },
  "get /v1/plans/{planId}": { key: "admin", users: false },
  "put /v1/subjects/{subjectId}": { key: "admin", users: false },
  "post /v1/subjects/{subjectId}/recalculate": { key: "admin", users: false },
  "post /v1/usage/{id}/void": { key: "admin", users: false },
  "post /v1/usage/{id}/amend": { key: "admin", users: false },
  "post /v1/faxes": { key: "admin", users: false },
  "get /v1/faxes/{provider}/{faxId}": { key: "admin", users: false },
  "get /v1/webhooks/unattributed": { key: "admin", users: false },
  "get /v1/dead-letters": { key: "admin", users: false },
  "post /v1/dead-letters/{id}/replay": { key: "admin", users: false },
  "put /v1/webhook-endpoints/{id}": { key: "admin", users: false },
  "get /v1/webhook-endpoints/{id}": { key: "admin", users: false },
  "delete /v1/webhook-endpoints/{id}": { key: "admin", users: false },
  "get /v1/webhook-endpoints/{id}/deliveries": { key: "admin", users: false },
  "get /v1/webhook-endpoints": { key: "admin", users: false },
  "post /v1/webhook-endpoints/{id}/test": { key: "admin", users: false },
  "post /v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver": { key: "admin", users: false },
  "post /v1/webhook-endpoints/{id}/rotate-secret": { key: "admin", users: false },
  "post /v1/api-keys": { key: "admin", users: false },
  "get /v1/api-keys": { key: "admin", users: false },
  "get /v1/api-keys/{id}": { key: "admin", users: false },
  "delete /v1/api-keys/{id}": { key: "admin", users: false },
  "post /v1/api-keys/{id}/roll": { key: "admin", users: false },
  "get /v1/audit-log": { key: "admin", users: false },
};

const OWNER = "scope-matrix-owner";

type Doc = { paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>> };
let doc: Doc;
const keys = {} as Record<Scope, string>;

beforeAll(async () => {
  doc = (await api<Doc>("GET", "/openapi.json", { token: null })).body;
  for (const scope of SCOPES) keys[scope] = (await createKey([scope])).secret;
});

const operations = () =>
  Object.entries(doc.paths)
    .filter(([path]) => path.startsWith("/v1/"))
    .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ route: `${method} ${path}`, method, path, op })));

/** A request the gate must judge: placeholders for ids (the owner's subject), an empty body. */
function call(method: string, path: string, token: string) {
  const concrete = path.replaceAll("{subjectId}", OWNER).replaceAll(/\{\w+\}/g, "x");
  const body = method === "get" || method === "delete" ? undefined : {};
  return api(method.toUpperCase(), `${concrete}?subjectId=${OWNER}`, { body, token });
}

describe("scope × route matrix", () => {
  it("has an expectation for every /v1 route in the OpenAPI document, and no stale one", () => {
    const routes = operations().map((o) => o.route);
    expect(routes.filter((r) => !(r in EXPECTED))).toEqual([]);
    expect(Object.keys(EXPECTED).filter((r) => !routes.includes(r))).toEqual([]);
  });

  it("documents each route's access as expected", () => {
    for (const { route, op } of operations()) {
      const security = op.security ?? [];
      const keyRequirement = security.find((s) => "bearerAuth" in s)?.bearerAuth;
      const declared = keyRequirement === undefined ? "none" : (keyRequirement[0] ?? "any");
      expect({ route, key: declared, users: security.some((s) => "userToken" in s) }).toEqual({ route, ...EXPECTED[route] });
    }
  });

  for (const scope of SCOPES) {
    it(`lets a key holding only '${scope}' call exactly its routes (403 FORBIDDEN elsewhere)`, async () => {
      for (const { route, method, path } of operations()) {
        const expected = EXPECTED[route]!;
        const allowed = expected.key === "any" || expected.key === scope;
        const res = await call(method, path, keys[scope]);
        if (allowed) expect([401, 403], `${route}: ${JSON.stringify(res.body)}`).not.toContain(res.status);
        else {
          expect(res.status, route).toBe(403);
          expect(res.body.error.code, route).toBe("FORBIDDEN");
          if (expected.key !== "none") expect(res.body.error.details, route).toEqual({ requiredScope: expected.key });
        }
      }
    });
  }

  it("lets a user token call only the routes for users, and the root key every route", async () => {
    const token = await userToken(OWNER);
    for (const { route, method, path } of operations()) {
      const asUser = await call(method, path, token);
      if (EXPECTED[route]!.users) expect([401, 403], `${route}: ${JSON.stringify(asUser.body)}`).not.toContain(asUser.status);
      else expect(asUser.status, route).toBe(403);
      if (!route.includes("/me/")) {
        const asRoot = await call(method, path, SERVICE_KEY);
        expect([401, 403], `${route}: ${JSON.stringify(asRoot.body)}`).not.toContain(asRoot.status);
      }
    }
  });

  it("refuses before validating: a key without the scope learns nothing about the body", async () => {
    const res = await api("POST", "/v1/usage", { body: { amount: "not even close" }, token: keys["usage:read"] });
    expect(res.status).toBe(403);
    expect(res.body.error.details).toEqual({ requiredScope: "usage:write" });
  });
});
