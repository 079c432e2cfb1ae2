import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import path from "node:path";

/**
 * What the dashboard test seeds through the API: pantries on a plan with a soft limit (one over
 * it), holds, grants (one voided), features and overrides, dimensions (schoolId, itemType, userId)
 * including hostile values, a meter defined here (not one the page could know), closed periods,
 * parked faxes from signed Telnyx webhooks, dead letters and webhook deliveries.
 */
export const PANTRY = "pantry-42";
export const OTHER_PANTRY = "pantry-7";
/** Markup in an id (subject ids may hold anything but whitespace, slashes and control characters). */
export const XSS_SUBJECT = `<b>x"&'<i>`;
export const XSS = "<img src=x onerror=alert(1)>";
/** A value a spreadsheet would run, with a comma and a quote for RFC 4180. */
export const FORMULA = '=HYPERLINK("http://x.example","a,b")';
export const PARKED_FAXES = ["fax-parked-1", "fax-parked-2"];
export const LATE_METER = "pantry_boxes";
export const TODAY_ITEMS = 200;

export type Call = (method: string, route: string, body?: unknown) => Promise<any>;

const root = path.resolve(import.meta.dirname, "../..");
const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for what the API answers to satisfy `done` (history and queues settle within seconds). */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, tries = 120): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (done(last)) return last;
    await sleep(250);
  }
  throw new Error(`gave up waiting for ${what}: ${JSON.stringify(last)?.slice(0, 500)}`);
}

/** A webhook receiver on loopback: /ok answers 200, /down 503. */
export async function startReceiver(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.statusCode = req.url === "/ok" ? 200 : 503;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** A Telnyx fax.delivered that names no subject, signed with the local key (scripts/send-webhook.mjs). */
function sendParkedFax(base: string, faxId: string, pages: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["scripts/send-webhook.mjs", "telnyx", "fax.delivered", "--fax", faxId, "--pages", String(pages), "--url", base],
      {
        cwd: root,
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => (code === 0 && out.startsWith("200") ? resolve(out) : reject(new Error(`send-webhook: ${code} ${out}`))));
  });
}

export async function seedDashboard(base: string, call: Call, receiverUrl: string): Promise<void> {
  const now = Date.now();
  const todayStart = Math.floor(now / DAY) * DAY;
  // Endpoints first, so the thresholds the seeding crosses are delivered.
  const events = ["entitlement.threshold_reached", "entitlement.limit_reached", "period.closed"];
  await call("PUT", "/v1/webhook-endpoints/pantry-sync", { url: `${receiverUrl}/ok`, events, description: "inventory sync" });
  await call("PUT", "/v1/webhook-endpoints/broken-crm", { url: `${receiverUrl}/down`, events });
  await call("POST", "/v1/webhook-endpoints/pantry-sync/test");
  await call("POST", "/v1/webhook-endpoints/broken-crm/test");

  await call("PUT", "/v1/meters/pantry_visits", { unit: "visit", kind: "counter", description: "Pantry visits" });
  await call("PUT", "/v1/plans/pantry", {
    name: "Pantry basic",
    entitlements: {
      pantry_items: { limit: 120, period: "month", enforcement: "soft" },
      api_call: { limit: 50, period: "month", enforcement: "hard" },
      pantry_visits: { limit: null, period: "none", enforcement: "soft" },
    },
    features: { csv_export: true, max_pantries: 3 },
  });
  await call("PUT", "/v1/plans/hostile", { name: XSS, entitlements: { fax: { limit: 10, period: "month", enforcement: "hard" } } });
  await call("PUT", `/v1/subjects/${PANTRY}`, {
    planId: "pantry",
    overrides: { api_call: { limit: 60 } },
    featureOverrides: { beta_reports: true },
  });
  await call("PUT", `/v1/subjects/${OTHER_PANTRY}`, { planId: "pantry" });
  await call("PUT", `/v1/subjects/${encodeURIComponent(XSS_SUBJECT)}`, { planId: "hostile", featureOverrides: { motto: XSS } });

  const pantryEvents = [
    // Twenty days of visits, three schools, two item types, five users.
    ...Array.from({ length: 60 }, (_, i) => ({
      subjectId: PANTRY,
      meter: "pantry_items",
      amount: (i % 4) + 1,
      timestamp: new Date(Math.max(now - (i % 20) * DAY - 60_000, i % 20 === 0 ? todayStart + 1000 : 0)).toISOString(),
      idempotencyKey: `visit-${i}`,
      dimensions: { schoolId: `School ${i % 3}`, itemType: i % 2 ? "canned" : "fresh", userId: `u${i % 5}` },
    })),
    // Today's big distribution: past the soft limit and the grant.
    ...Array.from({ length: 8 }, (_, i) => ({
      subjectId: PANTRY,
      meter: "pantry_items",
      amount: TODAY_ITEMS / 8,
      timestamp: new Date(Math.max(todayStart + 1000, now - 120_000 - i * 1000)).toISOString(),
      idempotencyKey: `distribution-${i}`,
      dimensions: { schoolId: "School 0", itemType: "fresh", userId: "u0" },
    })),
    // Last month (33 days back is before the 1st of this month whatever the day): a period to close.
    ...Array.from({ length: 4 }, (_, i) => ({
      subjectId: PANTRY,
      meter: "pantry_items",
      amount: 10 + i,
      timestamp: new Date(now - 33 * DAY - i * 3_600_000).toISOString(),
      idempotencyKey: `last-month-${i}`,
      dimensions: { schoolId: "School 1", itemType: "canned" },
    })),
    ...Array.from({ length: 12 }, (_, i) => ({
      subjectId: PANTRY,
      meter: "pantry_visits",
      timestamp: new Date(now - (i % 6) * DAY - 90_000).toISOString(),
      idempotencyKey: `door-${i}`,
    })),
    ...Array.from({ length: 15 }, (_, i) => ({
      subjectId: OTHER_PANTRY,
      meter: "pantry_items",
      amount: 2,
      timestamp: new Date(now - (i % 10) * DAY - 180_000).toISOString(),
      idempotencyKey: `other-${i}`,
      dimensions: { schoolId: "School 2", itemType: "canned" },
    })),
    // Hostile values, as data: markup, a formula, a prototype's name.
    ...[XSS, FORMULA, "__proto__"].map((itemType, i) => ({
      subjectId: XSS_SUBJECT,
      meter: "pantry_items",
      amount: 1 + i,
      timestamp: new Date(now - DAY - i * 60_000).toISOString(),
      idempotencyKey: `hostile-${i}`,
      dimensions: { itemType, schoolId: XSS, ["__proto__"]: "polluted" },
    })),
  ];
  const batch = await call("POST", "/v1/usage/batch", { events: pantryEvents });
  const rejected = batch.results.filter((r: { status: string }) => r.status === "rejected");
  if (rejected.length) throw new Error(`seed events rejected: ${JSON.stringify(rejected.slice(0, 3))}`);

  await call("POST", `/v1/subjects/${PANTRY}/entitlements/api_call/consume`, { amount: 45 });
  await call("POST", `/v1/subjects/${PANTRY}/entitlements/api_call/reserve`, { amount: 2, ttlSeconds: 3600 });
  await call("POST", `/v1/subjects/${PANTRY}/grants`, { meter: "pantry_items", amount: 30, idempotencyKey: "welcome" });
  const spare = await call("POST", `/v1/subjects/${PANTRY}/grants`, { meter: "api_call", amount: 5, idempotencyKey: "spare" });
  await call("POST", `/v1/subjects/${PANTRY}/grants/${spare.grant.id}/void`);

  for (const [i, faxId] of PARKED_FAXES.entries()) await sendParkedFax(base, faxId, 3 + i * 2);

  // Queued events for a meter not defined yet: dead letters, replayable once it is.
  await call("POST", "/v1/usage/async", {
    events: [1, 2].map((i) => ({ subjectId: OTHER_PANTRY, meter: LATE_METER, amount: i, idempotencyKey: `late-${i}` })),
  });

  await until(
    () => call("GET", `/v1/usage?subjectId=${PANTRY}&limit=1000`),
    (h) => h.data.length >= 84,
    "pantry history",
  );
  await until(
    () => call("GET", "/v1/dead-letters?status=open"),
    (d) => d.data.filter((l: { body: any }) => JSON.stringify(l.body).includes(LATE_METER)).length === 2,
    "dead letters",
  );
  await until(
    () => call("GET", "/v1/webhooks/unattributed"),
    (u) => PARKED_FAXES.every((f) => u.data.some((x: { faxId: string }) => x.faxId === f)),
    "parked faxes",
  );
  // The monthly rollover by hand (wrangler dev --test-scheduled): last month's period closes.
  const cron = await fetch(`${base}/__scheduled?cron=${encodeURIComponent("0 0 1 * *")}`);
  if (!cron.ok) throw new Error(`rollover: ${cron.status}`);
  await until(
    () => call("GET", `/v1/periods?subjectId=${PANTRY}`),
    (p) => p.data.some((r: { meter: string }) => r.meter === "pantry_items"),
    "closed periods",
  );
}
