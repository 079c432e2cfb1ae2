// Generates realistic traffic against a running tally (default: `npm run dev`) through the typed
// client, then checks the service's totals against what it sent.
//   npm run simulate -- --events 20000 [--subjects 40] [--days 14] [--rate 0] [--seed 7] [--url …] [--key …]
//   npm run seed      (a month of demo data for the dashboard)
import { createHmac, createPrivateKey, sign } from "node:crypto";
import { TallyClient } from "../src/client";
import type { UsageEventInput } from "../src/client";
import { parseCommandLine } from "./lib/cli";
import { LOCAL_NOTIFYRE_SECRET, LOCAL_SERVICE_KEY, LOCAL_TELNYX_PRIVATE_KEY_PKCS8 } from "./local-keys.mjs";

const USAGE = `Usage: npm run simulate -- [options]
       npm run seed

Sends realistic traffic (recorded and queued events, pantry logs, signed fax webhooks with holds,
gauge moves) to a running tally through the typed client, then checks the service's totals
against what it sent (exit 1 if they differ). \`npm run seed\` is \`--preset seed\`: a month of demo
data for the dashboard (20000 events, 30 subjects, 30 days).

  --url URL        the tally to send to (default http://localhost:8787, \`npm run dev\`)
  --key KEY        service API key (default the local development key, scripts/local-keys.mjs)
  --events N       events to send (default 5000)
  --subjects N     subjects to spread them over (default 40)
  --days N         how far back events are dated, at most 30 (default 14)
  --rate N         events per second, 0 for as fast as it goes (default 0)
  --seed N         seed of the traffic's random choices (default: from the clock)
  --preset seed    the seed's events, subjects and days instead of --events, --subjects, --days
  -h, --help       this text

Example: npm run simulate -- --events 20000 --rate 500 --seed 7`;

const { values } = parseCommandLine(USAGE, {
  options: {
    url: { type: "string", default: "http://localhost:8787" },
    key: { type: "string", default: LOCAL_SERVICE_KEY },
    events: { type: "string", default: "5000" },
    subjects: { type: "string", default: "40" },
    days: { type: "string", default: "14" },
    rate: { type: "string", default: "0" },
    seed: { type: "string", default: String(Date.now() % 100000) },
    preset: { type: "string" },
  },
});
const seedPreset = values.preset === "seed";
const opts = {
  url: values.url!,
  events: Number(seedPreset ? 20000 : values.events),
  subjects: Number(seedPreset ? 30 : values.subjects),
  days: Math.min(30, Number(seedPreset ? 30 : values.days)),
  rate: Number(values.rate),
  seed: Number(values.seed),
};

/** mulberry32: small, seedable, good enough for traffic shapes. */
let state = opts.seed >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));

const run = `sim${opts.seed}-${Date.now().toString(36)}`;
const client = new TallyClient({ baseUrl: opts.url, token: values.key! });
const now = Date.now();
const users = Array.from({ length: opts.subjects }, (_, i) => `${run}-${i % 5 === 0 ? "org" : "user"}-${i}`);
const pantries = Array.from({ length: Math.max(2, Math.ceil(opts.subjects / 8)) }, (_, i) => `${run}-pantry-${i}`);
const schools = ["Lincoln Elementary", "Roosevelt Middle", "Jefferson High", "Adams Academy"];
const itemTypes = ["canned", "fresh", "dairy", "bread", "hygiene"];
const endpoints = ["/v1/forms", "/v1/users", "/v1/reports", "/v1/search"];
const expected: Record<string, number> = {};
const sent = { events: 0, webhooks: 0, duplicates: 0, queued: 0, gaugeMoves: 0, holds: 0, holdsRefused: 0 };

function count(meter: string, amount: number) {
  expected[meter] = Math.round(((expected[meter] ?? 0) + amount) * 10_000) / 10_000;
}
function pastTime(): string {
  return new Date(now - random() * opts.days * 86_400_000 - 60_000).toISOString();
}

function progress(done: number, total: number, started: number) {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
  process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} events  ${rate.toFixed(0)} ev/s `);
}

async function telnyx(eventType: string, faxId: string, fields: Record<string, unknown>) {
  const body = JSON.stringify({
    data: {
      event_type: eventType,
      id: crypto.randomUUID(),
      occurred_at: new Date().toISOString(),
      record_type: "event",
      payload: { fax_id: faxId, direction: "outbound", ...fields },
    },
    meta: { attempt: 1 },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const key = createPrivateKey({ key: Buffer.from(LOCAL_TELNYX_PRIVATE_KEY_PKCS8, "base64"), format: "der", type: "pkcs8" });
  const signature = sign(null, Buffer.from(`${ts}|${body}`), key).toString("base64");
  const res = await fetch(`${opts.url}/webhooks/telnyx`, {
    method: "POST",
    headers: { "content-type": "application/json", "telnyx-timestamp": ts, "telnyx-signature-ed25519": signature },
    body,
  });
  if (!res.ok) throw new Error(`telnyx webhook: ${res.status} ${await res.text()}`);
  sent.webhooks += 1;
}

async function notifyre(faxId: string, subjectId: string, pages: number, status: string) {
  const t = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({
    Event: "fax_sent",
    Timestamp: t,
    Payload: { ID: faxId, Reference: subjectId, Pages: pages, Status: status, LastModifiedDateUtc: t },
  });
  const v = createHmac("sha256", LOCAL_NOTIFYRE_SECRET).update(`${t}.${body}`).digest("hex");
  const res = await fetch(`${opts.url}/webhooks/notifyre`, {
    method: "POST",
    headers: { "content-type": "application/json", "Notifyre-Signature": `t=${t},v=${v}` },
    body,
  });
  if (!res.ok) throw new Error(`notifyre webhook: ${res.status} ${await res.text()}`);
  sent.webhooks += 1;
}

/** Registers the fax with a hold of about its pages; false when the hold does not fit the subject's hard limit (402). */
async function register(provider: "telnyx" | "notifyre", faxId: string, subjectId: string, reservePages: number): Promise<boolean> {
  const res = await fetch(`${opts.url}/v1/faxes`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${values.key}` },
    body: JSON.stringify({ provider, faxId, subjectId, reservePages }),
  });
  if (res.status === 402) return false;
  if (!res.ok) throw new Error(`register fax: ${res.status} ${await res.text()}`);
  return true;
}

/**
 * A fax's life as providers tell it: registered with a hold of about its pages (a sender that
 * cannot hold them does not send it), then sometimes failed, sometimes delivered twice or out of order.
 */
async function fax(subjectId: string) {
  const pages = int(1, 12);
  const faxId = `${run}-fax-${crypto.randomUUID().slice(0, 8)}`;
  const provider = random() < 0.5 ? "telnyx" : "notifyre";
  sent.holds += 1;
  if (!(await register(provider, faxId, subjectId, Math.max(1, pages + int(-2, 2))))) {
    sent.holdsRefused += 1;
    return;
  }
  if (provider === "telnyx") {
    if (random() < 0.15) return telnyx("fax.failed", faxId, { status: "failed", failure_reason: "user_busy" });
    const clientState = Buffer.from(JSON.stringify({ subjectId })).toString("base64");
    await telnyx("fax.delivered", faxId, { status: "delivered", page_count: pages, client_state: clientState });
    count("fax", pages);
    if (random() < 0.3) {
      sent.duplicates += 1;
      await telnyx("fax.delivered", faxId, { status: "delivered", page_count: pages, client_state: clientState });
    }
    if (random() < 0.2) await telnyx("fax.sending.started", faxId, { status: "sending" });
  } else {
    const ok = random() > 0.15;
    await notifyre(faxId, subjectId, pages, ok ? "successful" : "failed");
    if (ok) count("fax", pages);
    if (ok && random() < 0.3) {
      sent.duplicates += 1;
      await notifyre(faxId, subjectId, pages, "successful");
    }
  }
}

async function main() {
  await client.putMeter("pantry_items", { unit: "item", kind: "counter" });
  await client.putPlan(`${run}-free`, {
    name: "Free",
    entitlements: { api_call: { limit: 2000, enforcement: "soft" }, fax: { limit: 50 } },
  });
  await client.putPlan(`${run}-pro`, {
    name: "Pro",
    entitlements: { api_call: { limit: 50000 }, fax: { limit: 1000 }, storage: { limit: 5e9, period: "none" } },
  });
  for (const [i, subjectId] of users.entries())
    await client.putSubject(subjectId, { planId: i % 3 === 0 ? `${run}-pro` : `${run}-free`, billingAnchorDay: i % 4 === 0 ? 15 : null });

  const recorder = client.recorder({ maxBatch: 500, flushIntervalMs: 500 });
  const started = Date.now();
  let done = 0;
  const tick = async (n: number) => {
    done += n;
    if (done % 100 < n || done === opts.events) progress(done, opts.events, started);
    if (opts.rate > 0) {
      const ahead = done / opts.rate - (Date.now() - started) / 1000;
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead * 1000));
    }
  };
  const asyncBatch: UsageEventInput[] = [];
  // Webhooks and gauge moves are single requests: keep a few in flight, as real traffic would.
  let inflight: Promise<unknown>[] = [];
  const spawn = async (work: Promise<unknown>) => {
    inflight.push(work);
    if (inflight.length >= 16) await Promise.all(inflight.splice(0));
  };
  while (done < opts.events) {
    const r = random();
    if (r < 0.6) {
      const amount = int(1, 5);
      recorder.record({
        subjectId: pick(users),
        meter: "api_call",
        amount,
        timestamp: pastTime(),
        dimensions: { endpoint: pick(endpoints) },
      });
      count("api_call", amount);
      sent.events += 1;
      await tick(1);
    } else if (r < 0.78) {
      const items = int(1, 8);
      recorder.record({
        LogID: `${run}-${done}`,
        PantryID: pick(pantries),
        SchoolID: pick(schools),
        DateTimeOfUse: pastTime(),
        NumberOfItemsTaken: items,
        ItemType: pick(itemTypes),
        UserID: pick(users),
      });
      count("pantry_items", items);
      sent.events += 1;
      await tick(1);
    } else if (r < 0.85) {
      await spawn(fax(pick(users)));
      await tick(1);
    } else if (r < 0.9) {
      const subjectId = pick(users);
      const bytes = int(1, 100) * 1_000_000;
      if (random() < 0.7) {
        await spawn(client.increment(subjectId, "storage", bytes));
        count("storage", bytes);
      } else {
        await spawn(client.decrement(subjectId, "storage", bytes));
        // Decrements below zero stop at zero; history (and this check) counts what was asked.
        count("storage", -bytes);
      }
      sent.gaugeMoves += 1;
      await tick(1);
    } else {
      const amount = int(1, 3);
      asyncBatch.push({ userId: pick(users), entitlementKey: "api_call", amount, idempotencyKey: `${run}-q-${done}` });
      count("api_call", amount);
      sent.queued += 1;
      if (asyncBatch.length >= 100) await client.recordAsync(asyncBatch.splice(0));
      await tick(1);
    }
  }
  if (asyncBatch.length > 0) await client.recordAsync(asyncBatch.splice(0));
  await Promise.all(inflight);
  inflight = [];
  await recorder.close();
  process.stderr.write("\n");
  const seconds = (Date.now() - started) / 1000;

  // History lags counters by a flush (and the queue by a batch): wait until it holds everything.
  const from = new Date(now - (opts.days + 1) * 86_400_000).toISOString();
  let actual: Record<string, number> = {};
  for (let attempt = 0; attempt < 60; attempt++) {
    const summary = await client.summary({ groupBy: ["meter", "subjectId"], from, to: new Date(Date.now() + 60_000).toISOString() });
    actual = {};
    for (const row of summary.data) {
      if (!String(row.subjectId).startsWith(run)) continue;
      const meter = String(row.meter);
      actual[meter] = Math.round(((actual[meter] ?? 0) + Number(row.total)) * 10_000) / 10_000;
    }
    if (Object.keys(expected).every((m) => actual[m] === expected[m])) break;
    await new Promise((r) => setTimeout(r, 1000));
  }

  console.log(
    `\nrun ${run}: ${done} events in ${seconds.toFixed(1)} s (${(done / seconds).toFixed(0)}/s) over ${users.length} subjects and ${pantries.length} pantries`,
  );
  console.log(
    `sent: ${sent.events} recorded, ${sent.queued} queued, ${sent.webhooks} webhooks (${sent.duplicates} duplicate deliveries), ${sent.gaugeMoves} gauge moves`,
  );
  console.log(`faxes: ${sent.holds} registered with a hold, ${sent.holdsRefused} of them refused (402: over the fax limit, not sent)`);
  console.log("meter          sent         tally");
  let ok = true;
  for (const meter of Object.keys(expected).sort()) {
    const match = actual[meter] === expected[meter];
    ok &&= match;
    console.log(
      `${meter.padEnd(14)} ${String(expected[meter]).padStart(12)} ${String(actual[meter] ?? 0).padStart(13)} ${match ? "✓" : "✗ MISMATCH"}`,
    );
  }
  // Every fax's hold ended: committed by its delivery or released by its failure.
  let stillHeld: number | null = null;
  for (const subjectId of users) {
    for (const row of (await client.entitlements(subjectId)).data) {
      const { held } = row as { held?: number };
      if (row.meter === "fax" && held !== undefined) stillHeld = (stillHeld ?? 0) + held;
    }
  }
  if (stillHeld === null) console.log("fax pages still held: not reported (entitlement rows without `held`)");
  else console.log(`fax pages still held: ${stillHeld} ${stillHeld === 0 ? "✓" : "✗ a hold outlived its fax"}`);
  ok &&= !stillHeld;
  if (!ok) {
    console.error("The service's totals differ from what was sent, or a hold outlived its fax.");
    process.exit(1);
  }
  console.log("The service's totals match what was sent.");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
