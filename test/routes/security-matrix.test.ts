import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { api, flushLedger, userToken } from "../helpers/api";
import { describeRouteMatrix, OWNER } from "../helpers/route-matrix";

const OTHER = "matrix-subject";
let eventId = "";
const held: Record<"commit" | "release" | "read" | "own", string> = { commit: "", release: "", read: "", own: "" };
let grantId = "";

beforeAll(async () => {
  await api("PUT", "/v1/plans/matrix-plan", { body: { entitlements: { fax: { limit: 1000 } } } });
  await api("PUT", "/v1/plans/matrix-doomed-plan", { body: { entitlements: { fax: { limit: 1 } } } });
  await api("PUT", "/v1/meters/matrix_archived", { body: { unit: "thing" } });
  for (const subjectId of [OTHER, OWNER]) await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: "matrix-plan" } });
  const res = await api("POST", "/v1/usage", { body: { subjectId: OTHER, meter: "fax", amount: 1, idempotencyKey: "seed" } });
  eventId = res.body.event.id;
  await flushLedger(OTHER);
  for (const use of ["commit", "release", "read", "own"] as const) {
    const subjectId = use === "own" ? OWNER : OTHER;
    const reserved = await api("POST", `/v1/subjects/${subjectId}/entitlements/fax/reserve`, { body: { amount: 1 } });
    held[use] = reserved.body.reservation.id;
  }
  grantId = (await api("POST", `/v1/subjects/${OTHER}/grants`, { body: { meter: "fax", amount: 1 } })).body.grant.id;
});

describeRouteMatrix([
  {
    name: "/v1/usage",
    method: "POST",
    path: "/v1/usage",
    body: { subjectId: OTHER, meter: "fax", amount: 2, idempotencyKey: "matrix-one" },
    invalidBody: { subjectId: OTHER, meter: "fax", amount: -2 },
    ok: 201,
    replay: (first, second) => {
      expect(second.status).toBe(200);
      expect(second.body.event.id).toBe(first.body.event.id);
    },
  },
  {
    name: "/v1/usage/batch",
    method: "POST",
    path: "/v1/usage/batch",
    body: { events: [{ subjectId: OTHER, meter: "fax", idempotencyKey: "matrix-batch" }] },
    invalidBody: { events: "nope" },
    ok: 200,
    replay: (_first, second) => {
      expect(second.status).toBe(200);
      expect(second.body.results[0].status).toBe("duplicate");
    },
  },
  {
    name: "/v1/usage",
    method: "GET",
    path: `/v1/usage?subjectId=${OTHER}`,
    invalidPath: `/v1/usage?subjectId=${OTHER}&limit=0`,
    ok: 200,
    ownPath: "/v1/usage?subjectId=owner",
  },
  {
    name: "/v1/usage/{id}",
    method: "GET",
    get path() {
      return `/v1/usage/${eventId}`;
    },
    ok: 200,
  },
  {
    name: "/v1/meters/{key}",
    method: "PUT",
    path: "/v1/meters/matrix_meter",
    body: { unit: "thing", kind: "counter" },
    invalidBody: { unit: "", kind: "level" },
    ok: 201,
    replay: (_first, second) => expect(second.status).toBe(200),
  },
  {
    name: "/v1/plans/{planId}",
    method: "PUT",
    path: "/v1/plans/matrix-new-plan",
    body: { entitlements: { fax: { limit: 5 } } },
    invalidBody: { entitlements: { fax: { limit: 5, period: "week" } } },
    ok: 201,
    replay: (_first, second) => expect(second.status).toBe(200),
  },
  { name: "/v1/plans/{planId}", method: "GET", path: "/v1/plans/matrix-plan", invalidPath: "/v1/plans/-bad", ok: 200 },
  { name: "/v1/plans", method: "GET", path: "/v1/plans", invalidPath: "/v1/plans?limit=0", ok: 200 },
  { name: "/v1/plans/{planId}", method: "DELETE", path: "/v1/plans/matrix-doomed-plan", invalidPath: "/v1/plans/-bad", ok: 200 },
  ...(["archive", "unarchive"] as const).map((verb) => ({
    name: `/v1/meters/{key}/${verb}`,
    method: "POST" as const,
    path: `/v1/meters/matrix_archived/${verb}`,
    invalidPath: `/v1/meters/bad%20key/${verb}`,
    ok: 200,
    replay: (first: any, second: any) => expect(second.body).toEqual(first.body),
  })),
  {
    name: "/v1/subjects/{subjectId}",
    method: "PUT",
    path: "/v1/subjects/matrix-new-subject",
    body: { planId: "matrix-plan", billingAnchorDay: 31 },
    invalidBody: { billingAnchorDay: 0 },
    ok: 201,
    replay: (_first, second) => expect(second.status).toBe(200),
  },
  { name: "/v1/subjects", method: "GET", path: "/v1/subjects?planId=matrix-plan", invalidPath: "/v1/subjects?prefix=a%20b", ok: 200 },
  {
    name: "/v1/subjects/{subjectId}",
    method: "GET",
    path: `/v1/subjects/${OTHER}`,
    invalidPath: "/v1/subjects/a%20b",
    ok: 200,
    ownPath: `/v1/subjects/${OWNER}`,
  },
  {
    name: "/v1/subjects/{subjectId}/entitlements",
    method: "GET",
    path: `/v1/subjects/${OTHER}/entitlements`,
    invalidPath: "/v1/subjects/a%20b/entitlements",
    ok: 200,
    ownPath: `/v1/subjects/${OWNER}/entitlements`,
  },
  {
    name: "/v1/subjects/{subjectId}/features",
    method: "GET",
    path: `/v1/subjects/${OTHER}/features`,
    invalidPath: "/v1/subjects/a%20b/features",
    ok: 200,
    ownPath: `/v1/subjects/${OWNER}/features`,
  },
  {
    name: "/v1/subjects/{subjectId}/entitlements/{meter}/check",
    method: "POST",
    path: `/v1/subjects/${OTHER}/entitlements/fax/check`,
    body: { amount: 2 },
    invalidBody: { amount: -2 },
    ok: 200,
    ownPath: `/v1/subjects/${OWNER}/entitlements/fax/check`,
  },
  {
    name: "/v1/subjects/{subjectId}/entitlements/{meter}/consume",
    method: "POST",
    path: `/v1/subjects/${OTHER}/entitlements/fax/consume`,
    body: { amount: 2, idempotencyKey: "matrix-consume" },
    invalidBody: { amount: 2, idempotencyKey: "" },
    ok: 200,
    replay: (first, second) => {
      expect(second.status).toBe(200);
      expect(second.body.status).toBe("duplicate");
      expect(second.body.event.id).toBe(first.body.event.id);
    },
  },
  {
    name: "/v1/subjects/{subjectId}/entitlements/{meter}/reserve",
    method: "POST",
    path: `/v1/subjects/${OTHER}/entitlements/fax/reserve`,
    body: { amount: 1, idempotencyKey: "matrix-reserve" },
    invalidBody: { amount: 0 },
    ok: 200,
    replay: (first, second) => {
      expect(second.status).toBe(200);
      expect(second.body.status).toBe("duplicate");
      expect(second.body.reservation.id).toBe(first.body.reservation.id);
    },
  },
  {
    name: "/v1/subjects/{subjectId}/reservations/{reservationId}/commit",
    method: "POST",
    get path() {
      return `/v1/subjects/${OTHER}/reservations/${held.commit}/commit`;
    },
    body: { amount: 1 },
    invalidBody: { amount: -1 },
    ok: 200,
    replay: (first, second) => {
      expect(second.status).toBe(200);
      expect(second.body.status).toBe("already_committed");
      expect(second.body.event.id).toBe(first.body.event.id);
    },
  },
  {
    name: "/v1/subjects/{subjectId}/reservations/{reservationId}/release",
    method: "POST",
    get path() {
      return `/v1/subjects/${OTHER}/reservations/${held.release}/release`;
    },
    body: {},
    invalidBody: { reason: "x" },
    ok: 200,
    replay: (_first, second) => {
      expect(second.status).toBe(200);
      expect(second.body.status).toBe("already_released");
    },
  },
  {
    name: "/v1/subjects/{subjectId}/reservations",
    method: "GET",
    path: `/v1/subjects/${OTHER}/reservations`,
    invalidPath: `/v1/subjects/${OTHER}/reservations?status=open`,
    ok: 200,
    ownPath: `/v1/subjects/${OWNER}/reservations`,
  },
  {
    name: "/v1/subjects/{subjectId}/reservations/{reservationId}",
    method: "GET",
    get path() {
      return `/v1/subjects/${OTHER}/reservations/${held.read}`;
    },
    invalidPath: "/v1/subjects/a%20b/reservations/rsv",
    ok: 200,
    get ownPath() {
      return `/v1/subjects/${OWNER}/reservations/${held.own}`;
    },
  },
  {
    name: "/v1/subjects/{subjectId}/grants",
    method: "POST",
    path: `/v1/subjects/${OTHER}/grants`,
    body: { meter: "fax", amount: 5, idempotencyKey: "matrix-grant" },
    invalidBody: { meter: "fax", amount: 5, priority: 5000 },
    ok: 201,
    replay: (first, second) => {
      expect(second.status).toBe(200);
      expect(second.body.grant.id).toBe(first.body.grant.id);
    },
  },
  {
    name: "/v1/subjects/{subjectId}/grants",
    method: "GET",
    path: `/v1/subjects/${OTHER}/grants`,
    invalidPath: `/v1/subjects/${OTHER}/grants?includeInactive=1`,
    ok: 200,
    ownPath: `/v1/subjects/${OWNER}/grants`,
  },
  {
    name: "/v1/subjects/{subjectId}/grants/{grantId}/void",
    method: "POST",
    get path() {
      return `/v1/subjects/${OTHER}/grants/${grantId}/void`;
    },
    ok: 200,
  },
  ...(["increment", "decrement"] as const).map((verb) => ({
    name: `/v1/subjects/{subjectId}/meters/{meter}/${verb}`,
    method: "POST" as const,
    path: `/v1/subjects/${OTHER}/meters/storage/${verb}`,
    body: { amount: 3, idempotencyKey: `matrix-${verb}` },
    invalidBody: { amount: "3" },
    ok: 200,
    replay: (_first: any, second: any) => expect(second.body.status).toBe("duplicate"),
  })),
  {
    name: "/v1/subjects/{subjectId}/meters/{meter}",
    method: "PUT",
    path: `/v1/subjects/${OTHER}/meters/storage`,
    body: { value: 9, idempotencyKey: "matrix-set" },
    invalidBody: { amount: 9 },
    ok: 200,
    replay: (_first, second) => expect(second.body.status).toBe("duplicate"),
  },
  {
    name: "/v1/faxes",
    method: "POST",
    path: "/v1/faxes",
    body: { provider: "telnyx", faxId: "matrix-fax", subjectId: OTHER },
    invalidBody: { provider: "efax", faxId: "matrix-fax", subjectId: OTHER },
    ok: 200,
    replay: (first, second) => {
      expect(second.status).toBe(200);
      expect(second.body.fax).toEqual(first.body.fax);
    },
  },
  {
    name: "/v1/webhooks/unattributed",
    method: "GET",
    path: "/v1/webhooks/unattributed",
    invalidPath: "/v1/webhooks/unattributed?limit=0",
    ok: 200,
  },
  {
    name: "/v1/usage/async",
    method: "POST",
    path: "/v1/usage/async",
    body: { events: [{ subjectId: OTHER, meter: "fax", idempotencyKey: "matrix-async" }] },
    invalidBody: { events: [{ subjectId: OTHER, meter: "fax", amount: "one" }] },
    ok: 202,
  },
  { name: "/v1/dead-letters", method: "GET", path: "/v1/dead-letters", invalidPath: "/v1/dead-letters?limit=5000", ok: 200 },
  { name: "/v1/dead-letters/{id}/replay", method: "POST", path: "/v1/dead-letters/dl_none/replay", ok: 404 },
  { name: "/v1/dead-letters/{id}/dismiss", method: "POST", path: "/v1/dead-letters/dl_none/dismiss", ok: 404 },
  {
    name: "/v1/periods",
    method: "GET",
    path: `/v1/periods?subjectId=${OTHER}`,
    invalidPath: `/v1/periods?subjectId=${OTHER}&from=soon`,
    ok: 200,
    ownPath: `/v1/periods?subjectId=${OWNER}`,
  },
  {
    name: "/v1/usage/summary",
    method: "GET",
    path: `/v1/usage/summary?subjectId=${OTHER}&groupBy=meter,day`,
    invalidPath: `/v1/usage/summary?subjectId=${OTHER}&groupBy=colour`,
    ok: 200,
    ownPath: `/v1/usage/summary?subjectId=${OWNER}&groupBy=meter`,
  },
  {
    name: "/v1/usage/export.csv",
    method: "GET",
    path: `/v1/usage/export.csv?subjectId=${OTHER}`,
    invalidPath: `/v1/usage/export.csv?subjectId=${OTHER}&from=later`,
    ok: 200,
    ownPath: `/v1/usage/export.csv?subjectId=${OWNER}`,
  },
  {
    name: "/v1/webhook-endpoints/{id}",
    method: "PUT",
    path: "/v1/webhook-endpoints/matrix-endpoint",
    body: { url: "https://hooks.example.com/tally", events: ["usage.recorded"] },
    invalidBody: { url: "not a url", events: ["usage.recorded"] },
    ok: 201,
    replay: (_first, second) => expect(second.status).toBe(200),
  },
  {
    name: "/v1/webhook-endpoints/{id}",
    method: "GET",
    path: "/v1/webhook-endpoints/matrix-endpoint",
    invalidPath: "/v1/webhook-endpoints/-x",
    ok: 200,
  },
  {
    name: "/v1/webhook-endpoints/{id}/deliveries",
    method: "GET",
    path: "/v1/webhook-endpoints/matrix-endpoint/deliveries",
    invalidPath: "/v1/webhook-endpoints/matrix-endpoint/deliveries?limit=0",
    ok: 200,
  },
  { name: "/v1/webhook-endpoints/{id}", method: "DELETE", path: "/v1/webhook-endpoints/matrix-gone", ok: 404 },
  {
    name: "/v1/notifications",
    method: "GET",
    path: `/v1/notifications?subjectId=${OTHER}`,
    invalidPath: `/v1/notifications?subjectId=${OTHER}&type=usage.whatever`,
    ok: 200,
    ownPath: `/v1/notifications?subjectId=${OWNER}`,
  },
  {
    name: "/v1/subjects/{subjectId}/recalculate",
    method: "POST",
    path: `/v1/subjects/${OTHER}/recalculate`,
    invalidPath: "/v1/subjects/a%20b/recalculate",
    ok: 200,
  },
]);

describe("routes every token may read", () => {
  it("GET /v1/meters answers the service key and user tokens, and 401 without credentials", async () => {
    expect((await api("GET", "/v1/meters")).status).toBe(200);
    expect((await api("GET", "/v1/meters", { token: await userToken("anyone") })).status).toBe(200);
    expect((await api("GET", "/v1/meters", { token: null })).status).toBe(401);
  });

  it("GET /v1/meters/{key} answers the service key and user tokens, and 401 without credentials", async () => {
    expect((await api("GET", "/v1/meters/fax")).body.meter).toMatchObject({ key: "fax", unit: "page" });
    expect((await api("GET", "/v1/meters/fax", { token: await userToken("anyone") })).status).toBe(200);
    expect((await api("GET", "/v1/meters/fax", { token: null })).status).toBe(401);
  });

  it("GET /v1/me/usage answers the token's own subject only", async () => {
    const mine = await api("GET", "/v1/me/usage", { token: await userToken(OTHER) });
    expect(mine.status).toBe(200);
    expect(mine.body.data.every((e: { subjectId: string }) => e.subjectId === OTHER)).toBe(true);
    expect(mine.body.data.length).toBeGreaterThan(0);
    const empty = await api("GET", "/v1/me/usage", { token: await userToken("nobody") });
    expect(empty.body.data).toEqual([]);
    expect((await api("GET", "/v1/me/usage", { token: null })).status).toBe(401);
    expect((await api("GET", "/v1/me/usage")).status).toBe(403);
  });

  it("GET /v1/me/entitlements answers the token's own subject only", async () => {
    const mine = await api("GET", "/v1/me/entitlements", { token: await userToken(OTHER) });
    expect(mine.status).toBe(200);
    expect(mine.body.data.map((r: { meter: string }) => r.meter)).toContain("fax");
    expect((await api("GET", "/v1/me/entitlements", { token: null })).status).toBe(401);
    expect((await api("GET", "/v1/me/entitlements")).status).toBe(403);
  });

  it("GET /v1/me/features answers the token's own subject only", async () => {
    await api("PUT", `/v1/subjects/${OTHER}`, { body: { featureOverrides: { matrix: true } } });
    const mine = await api("GET", "/v1/me/features", { token: await userToken(OTHER) });
    expect(mine.status).toBe(200);
    expect(mine.body.data).toEqual([{ key: "matrix", value: true, source: "override" }]);
    expect((await api("GET", "/v1/me/features", { token: null })).status).toBe(401);
    expect((await api("GET", "/v1/me/features")).status).toBe(403);
  });

  it("GET /v1/usage without subjectId is 403 for a user token", async () => {
    expect((await api("GET", "/v1/usage", { token: await userToken(OTHER) })).status).toBe(403);
  });

  it("refuses a user token without exp", async () => {
    const { sign } = await import("hono/jwt");
    const token = await sign({ sub: OTHER }, env.JWT_SECRET, "HS256");
    expect((await api("GET", "/v1/me/usage", { token })).status).toBe(401);
  });
});

describe("configuration", () => {
  it("fails closed with a configuration error when a secret is missing", async () => {
    const app = createApp();
    const res = await app.request("/v1/meters", { headers: { authorization: "Bearer anything" } }, { ...env, SERVICE_API_KEY: "" });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("CONFIGURATION_ERROR");
  });

  it("allows the configured browser origins only", async () => {
    const preflight = (origin: string) =>
      api("OPTIONS", "/v1/me/usage", {
        token: null,
        headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
      });
    const allowed = await preflight("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const denied = await preflight("https://evil.example.com");
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers unknown routes with the error envelope and a request id", async () => {
    const res = await api("GET", "/v2/nothing");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
    expect(res.body.error.requestId).toBe(res.headers.get("x-request-id"));
    expect((await api("GET", "/healthz", { token: null })).body).toEqual({ ok: true });
  });
});
