import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { insertNotificationsStatement } from "../../src/db/usage-events";
import { upsertPeriodsStatement } from "../../src/db/periods";
import { api, flushLedger, uniqueSubject, userToken } from "../helpers/api";
import { deliver } from "../helpers/queue";
import { sendTelnyx, telnyxFax } from "../helpers/webhooks";

const base64url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replaceAll("=", "");

/** Cursors a client could forge: not base64, not JSON, the wrong JSON, out-of-range numbers, lone surrogates. */
const TAMPERED = [
  "",
  "garbage!!",
  "%%%",
  base64url("not json"),
  base64url("null"),
  base64url('{"at":1,"id":"x"}'),
  base64url("[1]"),
  base64url('["1","x"]'),
  base64url('[1,"x",3]'),
  base64url('[1e400,"x"]'),
  base64url('[1.5,"x"]'),
  base64url('[-1,"x"]'),
  base64url('[9007199254740993,"x"]'),
  base64url('[1,"\\ud800"]'),
  base64url('[1,""]'),
  base64url('[1,"notjson"]'),
  base64url('[1,"[1,2]"]'),
  base64url('[1,["s","m"]]'),
  base64url('["usage",1,"x",2]'),
  base64url('["periods",1,"s\\udc00","fax"]'),
  base64url('["periods",1,"s","bad meter"]'),
  btoa("\xff\xfe"),
];

const subjectId = uniqueSubject("cursor");
const unicodeSubject = `日本-${uniqueSubject("cursor")}`;
const LISTS: { name: string; path: string; token?: () => Promise<string> }[] = [
  { name: "usage history", path: `/v1/usage?subjectId=${subjectId}` },
  { name: "me/usage", path: "/v1/me/usage", token: () => userToken(subjectId) },
  { name: "periods", path: `/v1/periods?subjectId=${encodeURIComponent(unicodeSubject)}` },
  { name: "dead letters", path: "/v1/dead-letters" },
  { name: "unattributed faxes", path: "/v1/webhooks/unattributed" },
  { name: "webhook deliveries", path: "/v1/webhook-endpoints/ep-cursor/deliveries" },
  { name: "notifications", path: `/v1/notifications?subjectId=${subjectId}` },
  { name: "reservations", path: `/v1/subjects/${subjectId}/reservations` },
  { name: "plans", path: "/v1/plans" },
  { name: "subjects", path: "/v1/subjects" },
];

beforeAll(async () => {
  await api("POST", "/v1/usage/batch", {
    body: { events: [1, 2, 3].map((i) => ({ subjectId, meter: "api_call", idempotencyKey: `c${i}` })) },
  });
  await flushLedger(subjectId);
  const month = Date.UTC(2026, 0, 1);
  const periods = ["fax", "api_call", "storage"].map((meter, i) => ({
    subjectId: unicodeSubject,
    meter,
    periodStart: month + i,
    periodEnd: month + 31 * 86_400_000,
    totalE4: 10_000,
    eventCount: 1,
    limitE4: null,
    endValueE4: null,
    peakE4: null,
    closedAt: month + 31 * 86_400_000,
    restatedAt: null,
  }));
  await upsertPeriodsStatement(env.DB, JSON.stringify(periods)).run();
  await deliver(
    "usage-events",
    [1, 2, 3].map((i) => ({ id: `cursor-dl-${i}`, body: { subjectId, meter: "no_such_meter" } })),
  );
  // Fax ids a provider chose, outside Latin-1 too: the cursor carries one.
  for (const faxId of ["fax-ü-1", "fax-日本-2", "fax-3"])
    await sendTelnyx(telnyxFax("fax.delivered", { faxId: `${faxId}-${subjectId}`, pages: 1 }));
  await api("PUT", "/v1/webhook-endpoints/ep-cursor", {
    body: { url: `${env.TEST_RECEIVER_URL}/hook/ok-cursor`, events: ["period.closed"] },
  });
  for (const i of [1, 2, 3]) {
    await env.DB.prepare(
      "INSERT INTO webhook_deliveries (id, endpoint_id, notification_id, event_type, status, created_at, updated_at) VALUES (?, 'ep-cursor', ?, 'period.closed', 'pending', ?, ?)",
    )
      .bind(`ntf_c${i}:ep-cursor`, `ntf_c${i}`, i, i)
      .run();
  }
  const notifications = [1, 2, 3].map((i) => ({
    id: `ntf_cursor_${i}`,
    subjectId,
    type: "period.closed",
    meter: null,
    payload: {},
    createdAt: i,
  }));
  await insertNotificationsStatement(env.DB, JSON.stringify(notifications)).run();
  for (const i of [1, 2, 3]) await api("POST", `/v1/subjects/${subjectId}/entitlements/api_call/reserve`, { body: { amount: i } });
  for (const i of [1, 2, 3]) {
    await api("PUT", `/v1/plans/cursor-plan-${i}`, { body: { entitlements: {} } });
    await api("PUT", `/v1/subjects/${subjectId}-${i}`, { body: { planId: `cursor-plan-${i}` } });
  }
});

const withParam = (path: string, param: string) => `${path}${path.includes("?") ? "&" : "?"}${param}`;

describe("cursors", () => {
  it.each(LISTS)("$name: pages one row at a time with the cursors it hands out", async ({ path, token }) => {
    const options = token ? { token: await token() } : {};
    const seen: unknown[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { data: unknown[]; nextCursor: string | null } } = await api(
        "GET",
        withParam(path, `limit=1${cursor ? `&cursor=${cursor}` : ""}`),
        options,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...res.body.data.map((row) => JSON.stringify(row)));
      cursor = res.body.nextCursor;
    } while (cursor && seen.length < 1000);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it.each(LISTS)("$name: answers 400 VALIDATION_FAILED on the cursor for every tampered cursor", async ({ path, token }) => {
    const options = token ? { token: await token() } : {};
    for (const cursor of TAMPERED) {
      const res = await api("GET", withParam(path, `cursor=${encodeURIComponent(cursor)}`), options);
      expect(res.status, `${path} cursor ${JSON.stringify(cursor)}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["cursor"]);
    }
  });

  it("refuses a cursor of one list on another", async () => {
    const first = await api("GET", "/v1/dead-letters?limit=1");
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const res = await api("GET", `/v1/notifications?cursor=${first.body.nextCursor}`);
    expect(res.status).toBe(400);
  });
});
