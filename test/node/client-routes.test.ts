import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { TallyClient, TallyError } from "../../src/client";

/**
 * Issue 17's routes, coded in the client from its contract before the server has them: each with
 * the query parameters it takes. When one lands in the OpenAPI document this test says so: take it
 * out of here and add its types to test/client/types-match.ts.
 */
const PENDING: Record<string, string[]> = {};
/** Query parameters issue 17 adds to routes that exist. */
const PENDING_PARAMETERS: Record<string, string[]> = {};

const S = "s/1"; // a subject id that must be encoded to stay one path segment
const page = { limit: 10, cursor: "c" };
const filter = { subjectId: S, meter: "fax", from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", includeVoided: true };
const dimensions = { schoolId: "S1" };

type Call = Exclude<keyof TallyClient, "allUsage" | "recorder">;

/** One call of every method (the type makes a new method fail until it is listed), every query parameter set. */
const CALLS: Record<Call, (tally: TallyClient) => Promise<unknown>> = {
  record: (t) => t.record({ subjectId: S, meter: "fax" }),
  recordBatch: (t) => t.recordBatch([{ subjectId: S, meter: "fax" }]),
  recordAsync: (t) => t.recordAsync([{ subjectId: S, meter: "fax" }]),
  usage: (t) => t.usage({ ...filter, ...page, dimensions }),
  myUsage: (t) => t.myUsage({ meter: "fax", from: filter.from, to: filter.to, includeVoided: true, ...page, dimensions }),
  usageEvent: (t) => t.usageEvent("evt_1"),
  voidUsage: (t) => t.voidUsage("evt_1", "duplicate"),
  amendUsage: (t) => t.amendUsage("evt_1", { amount: 2 }),
  summary: (t) =>
    t.summary({
      ...filter,
      dimensions,
      groupBy: ["meter", "hour"],
      tz: "Europe/Paris",
      distinct: "dimension.userId",
      compare: "previous",
      sort: "-total",
      limit: 10,
    }),
  exportCsv: (t) => t.exportCsv({ ...filter, dimensions, dimensionColumns: ["schoolId", "itemType"] }),
  entitlements: (t) => t.entitlements(S),
  myEntitlements: (t) => t.myEntitlements(),
  check: (t) => t.check(S, "fax", 2),
  consume: (t) => t.consume(S, "fax", { amount: 2 }),
  increment: (t) => t.increment(S, "storage", 5),
  decrement: (t) => t.decrement(S, "storage", 5),
  setGauge: (t) => t.setGauge(S, "storage", 5),
  features: (t) => t.features(S),
  myFeatures: (t) => t.myFeatures(),
  reserve: (t) => t.reserve(S, "fax", { amount: 3 }),
  commitReservation: (t) => t.commitReservation(S, "rsv_1", 2),
  releaseReservation: (t) => t.releaseReservation(S, "rsv_1"),
  reservations: (t) => t.reservations(S, { status: "held", ...page }),
  reservation: (t) => t.reservation(S, "rsv_1"),
  createGrant: (t) => t.createGrant(S, { meter: "fax", amount: 10 }),
  grants: (t) => t.grants(S, { meter: "fax", includeInactive: true }),
  voidGrant: (t) => t.voidGrant(S, "grt_1"),
  putMeter: (t) => t.putMeter("pages", { unit: "page" }),
  meter: (t) => t.meter("pages"),
  meters: (t) => t.meters({ includeArchived: true }),
  archiveMeter: (t) => t.archiveMeter("pages"),
  unarchiveMeter: (t) => t.unarchiveMeter("pages"),
  putPlan: (t) => t.putPlan("pro", { entitlements: { fax: { limit: 100 } } }),
  plan: (t) => t.plan("pro"),
  plans: (t) => t.plans(page),
  deletePlan: (t) => t.deletePlan("pro"),
  putSubject: (t) => t.putSubject(S, { planId: "pro" }),
  subject: (t) => t.subject(S),
  subjects: (t) => t.subjects({ planId: "pro", prefix: "s", ...page }),
  recalculate: (t) => t.recalculate(S),
  periods: (t) => t.periods({ subjectId: S, meter: "fax", from: filter.from, to: filter.to, ...page }),
  notifications: (t) => t.notifications({ subjectId: S, type: "period.closed", ...page }),
  putWebhookEndpoint: (t) => t.putWebhookEndpoint("ep1", { url: "https://example.com/hook", events: ["period.closed"] }),
  webhookEndpoint: (t) => t.webhookEndpoint("ep1"),
  webhookEndpoints: (t) => t.webhookEndpoints(page),
  deleteWebhookEndpoint: (t) => t.deleteWebhookEndpoint("ep1"),
  webhookDeliveries: (t) => t.webhookDeliveries("ep1", page),
  testWebhookEndpoint: (t) => t.testWebhookEndpoint("ep1"),
  redeliverWebhook: (t) => t.redeliverWebhook("ep1", "dlv_1"),
  rotateWebhookSecret: (t) => t.rotateWebhookSecret("ep1", { overlapSeconds: 60 }),
  registerFax: (t) => t.registerFax({ provider: "telnyx", faxId: "fax_1", subjectId: S }),
  fax: (t) => t.fax("notifyre", "fax_1"),
  unattributedFaxes: (t) => t.unattributedFaxes(page),
  deadLetters: (t) => t.deadLetters({ status: "open", ...page }),
  replayDeadLetter: (t) => t.replayDeadLetter("dl_1"),
  dismissDeadLetter: (t) => t.dismissDeadLetter("dl_1"),
  createApiKey: (t) => t.createApiKey({ name: "billing", scopes: ["usage:read"] }),
  apiKeys: (t) => t.apiKeys({ includeRevoked: true, ...page }),
  apiKey: (t) => t.apiKey("key_1"),
  revokeApiKey: (t) => t.revokeApiKey("key_1"),
  rollApiKey: (t) => t.rollApiKey("key_1", { overlapSeconds: 60 }),
  auditLog: (t) => t.auditLog({ action: "plan.put", actorType: "api_key", actorId: "key_1", targetType: "plan", targetId: "pro", ...page }),
};

interface Sent {
  name: string;
  method: string;
  url: URL;
  headers: Headers;
  body: string | null;
}

/** A fetch that answers every request 200 with an empty page, and keeps what it was sent. */
function recordingFetch(name: () => string, sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    sent.push({
      name: name(),
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body: (await request.text()) || null,
    });
    return Response.json({ data: [], nextCursor: null });
  };
}

interface Route {
  key: string;
  pattern: RegExp;
  parameters: number;
  query: string[];
}

const asRoute = (key: string, query: string[]): Route => {
  const [method, path] = key.split(" ") as [string, string];
  const source = path.replace(/\{[^}]*\}/g, "[^/]+");
  return { key, pattern: new RegExp(`^${method} ${source}$`), parameters: (path.match(/\{/g) ?? []).length, query };
};
const shape = (key: string) => key.replace(/\{[^}]*\}/g, "{}");
/** The most specific route a request matches (`/v1/usage/summary` before `/v1/usage/{id}`). */
const routeOf = (routes: Route[], request: string) =>
  routes.filter((r) => r.pattern.test(request)).sort((a, b) => a.parameters - b.parameters)[0];

describe("TallyClient's requests against the OpenAPI document", () => {
  let documented: Route[] = [];
  const pending = Object.entries(PENDING).map(([key, query]) => asRoute(key, query));
  const sent: Sent[] = [];

  beforeAll(async () => {
    const doc = (await (await createApp().request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>;
    };
    documented = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, operations]) =>
        Object.entries(operations).map(([method, op]) =>
          asRoute(`${method} ${path}`, [
            ...(op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name),
            ...(PENDING_PARAMETERS[`${method} ${path}`] ?? []),
          ]),
        ),
      );
    let current = "";
    const tally = new TallyClient({ baseUrl: "https://tally.test/", token: "k", fetch: recordingFetch(() => current, sent) });
    for (const [name, call] of Object.entries(CALLS)) {
      current = name;
      await call(tally);
    }
  });

  const requestOf = (s: Sent) => `${s.method.toLowerCase()} ${s.url.pathname}`;

  it("sends each call to a documented route (or one of issue 17's) with the bearer token, once", () => {
    expect(sent.map((s) => s.name)).toEqual(Object.keys(CALLS));
    const unmatched = sent.filter((s) => !routeOf(documented, requestOf(s)) && !routeOf(pending, requestOf(s)));
    expect(unmatched.map((s) => `${s.name}: ${requestOf(s)}`)).toEqual([]);
    for (const s of sent) expect(s.headers.get("authorization")).toBe("Bearer k");
  });

  it("calls every documented /v1 route", () => {
    const called = new Set(sent.map((s) => routeOf(documented, requestOf(s))?.key));
    expect(documented.map((r) => r.key).filter((key) => !called.has(key))).toEqual([]);
  });

  it("sends only the query parameters a route takes", () => {
    const unknown = sent.flatMap((s) => {
      const route = routeOf(documented, requestOf(s)) ?? routeOf(pending, requestOf(s));
      if (!route) return []; // reported above
      // `dimension.<name>` filters are open-ended, so the document cannot list them.
      const names = [...s.url.searchParams.keys()].filter((n) => !route.query.includes(n) && !n.startsWith("dimension."));
      return names.map((n) => `${s.name}: ${n}`);
    });
    expect(unknown).toEqual([]);
    const usage = sent.find((s) => s.name === "usage")!;
    expect(Object.fromEntries(usage.url.searchParams)).toEqual({
      ...filter,
      includeVoided: "true",
      limit: "10",
      cursor: "c",
      "dimension.schoolId": "S1",
    });
    expect(sent.find((s) => s.name === "exportCsv")!.url.searchParams.get("dimensions")).toBe("schoolId,itemType");
  });

  it("sends JSON bodies with their content type, and none where a route takes none", () => {
    for (const s of sent.filter((s) => s.body !== null)) {
      expect(s.headers.get("content-type"), s.name).toBe("application/json");
      expect(typeof JSON.parse(s.body!), s.name).toBe("object");
    }
    expect(sent.filter((s) => s.method === "GET" || s.method === "DELETE").filter((s) => s.body !== null)).toEqual([]);
  });

  it("lists no route of issue 17 that has landed", () => {
    const landed = Object.keys(PENDING).filter((key) => documented.some((r) => shape(r.key) === key));
    expect(landed, "landed: remove from PENDING and add its types to test/client/types-match.ts").toEqual([]);
  });
});

describe("TallyClient retries", () => {
  const failing = (status: number) => {
    const sent: string[] = [];
    const fetcher: typeof fetch = async (input, init) => {
      sent.push(`${init?.method} ${new URL(String(input)).pathname}`);
      return Response.json({ error: { code: "INTERNAL_ERROR", message: "lost", requestId: "r" } }, { status });
    };
    return { sent, tally: new TallyClient({ baseUrl: "https://tally.test", token: "k", fetch: fetcher, retryBaseMs: 0, maxAttempts: 3 }) };
  };

  it("retries idempotent calls after an unknown outcome, and never a call that would issue a second secret", async () => {
    const { sent, tally } = failing(500);
    await expect(tally.revokeApiKey("key_1")).rejects.toBeInstanceOf(TallyError);
    await expect(tally.createApiKey({ name: "n", scopes: ["admin"] })).rejects.toMatchObject({ status: 500, code: "INTERNAL_ERROR" });
    await expect(tally.rollApiKey("key_1")).rejects.toMatchObject({ status: 500 });
    await expect(tally.rotateWebhookSecret("ep1")).rejects.toMatchObject({ status: 500 });
    await expect(tally.testWebhookEndpoint("ep1")).rejects.toMatchObject({ status: 500 });
    await expect(
      tally.putWebhookEndpoint("ep1", { url: "https://x.example", events: ["usage.voided"], rotateSecret: true }),
    ).rejects.toThrow();
    expect(sent).toEqual([
      ...Array(3).fill("DELETE /v1/api-keys/key_1"),
      "POST /v1/api-keys",
      "POST /v1/api-keys/key_1/roll",
      "POST /v1/webhook-endpoints/ep1/rotate-secret",
      "POST /v1/webhook-endpoints/ep1/test",
      "PUT /v1/webhook-endpoints/ep1",
    ]);
  });

  it("retries those calls too when the answer says nothing was done (429)", async () => {
    const { sent, tally } = failing(429);
    await expect(tally.createApiKey({ name: "n", scopes: ["admin"] })).rejects.toMatchObject({ status: 429 });
    expect(sent).toEqual(Array(3).fill("POST /v1/api-keys"));
  });
});
