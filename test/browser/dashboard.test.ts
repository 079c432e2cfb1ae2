import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { sign } from "hono/jwt";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "../helpers/csv";
import { FORMULA, LATE_METER, OTHER_PANTRY, PANTRY, PARKED_FAXES, XSS, XSS_SUBJECT, seedDashboard, startReceiver } from "./seed";

/**
 * Drives the dashboard in Debian's headless Chromium against `wrangler dev` (the same server as
 * `npm run dev`, on a free port and a fresh local state), seeded through the API (./seed.ts). Each
 * view is checked at 1280×800 and 390×844, against what the API answers; screenshots of each land
 * in test-results/screenshots/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = path.resolve(import.meta.dirname, "../..");
const SHOTS = path.join(root, "test-results/screenshots");
const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;
type Size = (typeof SIZES)[number];
const DAY = 86_400_000;

let server: ChildProcess;
let receiver: Server | undefined;
let base = "";
let browser: Browser;
let secrets: Record<string, string> = {};
let readerKey = "";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: "ignore" });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`))));
  });
}

async function callAs(token: string, method: string, route: string, body?: unknown) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
const call = (method: string, route: string, body?: unknown) => callAs(secrets.SERVICE_API_KEY!, method, route, body);

async function userToken(subject: string, seconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: subject, iat: now, exp: now + seconds }, secrets.JWT_SECRET!, "HS256");
}

/** The page's own word that nothing is loading any more. */
async function ready(page: Page) {
  await page.waitForSelector("body[data-state=ready]", { timeout: 30_000 });
}

interface Opened {
  page: Page;
  context: BrowserContext;
  dialogs: string[];
  errors: string[];
  requests: string[];
}

/** A fresh tab (UTC, en-US) signed in with `token`. */
async function signIn(
  size: Size,
  token: string,
  hash = "",
  options: { before?: (context: BrowserContext) => Promise<void>; settled?: string } = {},
): Promise<Opened> {
  const context = await browser.newContext({
    viewport: { width: size.width, height: size.height },
    timezoneId: "UTC",
    locale: "en-US",
    acceptDownloads: true,
  });
  if (options.before) await options.before(context);
  const page = await context.newPage();
  const opened: Opened = { page, context, dialogs: [], errors: [], requests: [] };
  page.on("dialog", (d) => {
    opened.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => opened.errors.push(e.message));
  page.on("request", (r) => opened.requests.push(new URL(r.url()).pathname + new URL(r.url()).search));
  await page.goto(`${base}/dashboard${hash}`);
  await page.fill("#token", token);
  await page.click("#sign-in-form button[type=submit]");
  await page.waitForSelector(options.settled ?? "body[data-state=ready]", { timeout: 30_000 });
  return opened;
}

async function finish(opened: Opened, shot?: string) {
  if (shot) {
    mkdirSync(SHOTS, { recursive: true });
    await opened.page.screenshot({ path: path.join(SHOTS, `${shot}.png`), fullPage: true });
  }
  expect(opened.errors, "page errors").toEqual([]);
  expect(opened.dialogs, "no script from data ran").toEqual([]);
  await opened.context.close();
}

async function expectNoHorizontalScroll(page: Page, size: Size) {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(size.width);
}

/** The trend's axis labels: 11 px, and none overlapping the next. */
async function expectReadableAxis(page: Page) {
  const labels = await page.$$eval("#chart text.axis[text-anchor=middle]", (nodes) =>
    nodes.map((n) => ({ ...n.getBoundingClientRect().toJSON(), size: getComputedStyle(n).fontSize })),
  );
  expect(labels.length).toBeGreaterThan(1);
  for (const label of labels) expect(label.size).toBe("11px");
  for (let i = 1; i < labels.length; i++) expect(labels[i]!.left).toBeGreaterThan(labels[i - 1]!.right);
}

const iso = (ms: number) => new Date(ms).toISOString();
const todayStart = () => Math.floor(Date.now() / DAY) * DAY;
/** The presets' bounds as the page computes them in UTC. */
function presetRange(preset: "last7" | "lastMonth" | "today") {
  const t = todayStart();
  const d = new Date(t);
  if (preset === "today") return { from: iso(t), to: iso(t + DAY) };
  if (preset === "lastMonth") {
    return { from: iso(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)), to: iso(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)) };
  }
  return { from: iso(t - 6 * DAY), to: iso(t + DAY) };
}

async function summary(params: Record<string, string>): Promise<any[]> {
  return (await call("GET", `/v1/usage/summary?${new URLSearchParams({ tz: "UTC", ...params })}`)).data;
}

const PLURAL: Record<string, string> = { item: "items", call: "calls", page: "pages", visit: "visits", event: "events", box: "boxes" };
const shown = (n: number, unit: string) =>
  `${n.toLocaleString("en-US", { maximumFractionDigits: 4 })} ${n === 1 ? unit : (PLURAL[unit] ?? unit)}`;
const figure = (text: string) => Number(text.replace(/[^0-9.-]/g, ""));

async function tableText(page: Page, selector: string): Promise<{ head: string[]; rows: string[][] }> {
  return page.$eval(selector, (table) => ({
    head: Array.from(table.querySelectorAll("thead th"), (th) => (th.textContent ?? "").replace(/[▲▼]/g, "").trim()),
    rows: Array.from(table.querySelectorAll("tbody tr"), (tr) =>
      Array.from(tr.querySelectorAll("td"), (td) => (td.textContent ?? "").trim()),
    ),
  }));
}

async function download(page: Page, selector: string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, "utf8") };
}

let compareSupported = false;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH).`);
  await run(process.execPath, ["scripts/prepare-dev.mjs"]);
  secrets = Object.fromEntries(
    readFileSync(path.join(root, ".dev.vars"), "utf8")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]),
  );
  const state = mkdtempSync(path.join(tmpdir(), "tally-browser-"));
  const wrangler = path.join(root, "node_modules/.bin/wrangler");
  await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // --test-scheduled: the seed runs the monthly rollover by hand. WEBHOOK_ALLOW_LOOPBACK as a var:
  // with [secrets] required in wrangler.toml, wrangler dev loads only those names from .dev.vars.
  server = spawn(
    wrangler,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      state,
      "--test-scheduled",
      "--var",
      "WEBHOOK_ALLOW_LOOPBACK:true",
      "--show-interactive-dev-session=false",
    ],
    { cwd: root, stdio: "ignore" },
  );
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const hooks = await startReceiver();
  receiver = hooks.server;
  await seedDashboard(base, call, hooks.url);
  readerKey = (await call("POST", "/v1/api-keys", { name: "dashboard reader", scopes: ["usage:read"] })).secret;
  const probe = await fetch(`${base}/v1/usage/summary?groupBy=meter&compare=previous`, {
    headers: { authorization: `Bearer ${secrets.SERVICE_API_KEY}` },
  });
  compareSupported = probe.ok;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  receiver?.close();
  server?.kill("SIGTERM");
});

describe("traffic simulator against wrangler dev", () => {
  it("sends webhooks, batches, gauge moves and queued events, and the service's totals match", async () => {
    const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn(
        path.join(root, "node_modules/.bin/tsx"),
        ["scripts/simulate.ts", "--url", base, "--key", secrets.SERVICE_API_KEY!, "--events", "1500", "--subjects", "12", "--seed", "5"],
        { cwd: root },
      );
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.on("exit", (code) => resolve({ code, text }));
    });
    expect(output.code, output.text.slice(-2000)).toBe(0);
    expect(output.text).toContain("1500/1500 events");
    expect(output.text).toContain("The service's totals match what was sent.");
  });
});

describe("dashboard in Chromium", () => {
  it.each(SIZES)("all subjects ($name): every meter with its unit, the trend, the top 10 subjects by total", async (size) => {
    const opened = await signIn(size, secrets.SERVICE_API_KEY!);
    const { page } = opened;
    expect(await page.isVisible("#view-overview")).toBe(true);
    const range = presetRange("last7");
    const meters = (await call("GET", "/v1/meters")).data as { key: string; unit: string }[];
    expect(meters.map((m) => m.key)).toContain("pantry_visits");
    const totals = new Map((await summary({ groupBy: "meter", ...range })).map((r) => [r.meter, r]));
    expect(await page.$$eval("#totals [data-meter]", (cards) => cards.map((c) => c.getAttribute("data-meter")))).toEqual(
      meters.map((m) => m.key),
    );
    for (const meter of meters) {
      const total = totals.get(meter.key)?.total ?? 0;
      const text = await page.textContent(`#totals [data-meter="${meter.key}"] .figure`);
      if (meter.unit === "byte")
        expect(Number(await page.getAttribute(`#totals [data-meter="${meter.key}"] .figure`, "data-total"))).toBe(total);
      else expect(text, meter.key).toBe(shown(total, meter.unit));
    }

    // The busiest meter is chosen; the trend and top subjects follow the meter picked.
    await page.selectOption("#meter", "pantry_items");
    await ready(page);
    const itemsTotal = totals.get("pantry_items")!.total;
    await page.waitForFunction((t) => Number(document.querySelector("#chart")?.getAttribute("data-total")) === t, itemsTotal);
    expect(await page.getAttribute("#chart", "data-bucket")).toBe("day");
    expect(await page.getAttribute("#chart", "data-points")).toBe("7");
    expect(await page.textContent("#chart-caption")).toContain(shown(itemsTotal, "item"));
    await expectReadableAxis(page);

    const top = (await summary({ groupBy: "subjectId", meter: "pantry_items", ...range }))
      .sort((a, b) => b.total - a.total || a.subjectId.localeCompare(b.subjectId))
      .slice(0, 10);
    await page.waitForFunction(() => document.querySelector("#top-subjects-meter")?.textContent?.startsWith("pantry_items"));
    const table = await tableText(page, "#top-subjects");
    expect(table.rows.map((r) => r[1])).toEqual(top.map((r) => r.subjectId));
    expect(table.rows.map((r) => r[2])).toEqual(top.map((r) => shown(r.total, "item")));
    expect(table.rows.map((r) => r[1])).toContain(PANTRY);
    expect(await page.locator(`#top-subjects a[href="#/subject/${encodeURIComponent(XSS_SUBJECT)}"]`).textContent()).toBe(XSS_SUBJECT);

    await expectNoHorizontalScroll(page, size);
    await finish(opened, `overview-${size.name}`);
  });

  it.each(SIZES)("breakdown ($name): any dimension, sortable columns, the CSV of exactly the table, the full export", async (size) => {
    const opened = await signIn(size, secrets.SERVICE_API_KEY!, "#/overview");
    const { page } = opened;
    await page.selectOption("#meter", "pantry_items");
    await ready(page);
    expect(await page.$$eval("#dimension-names option", (o) => o.map((x) => x.getAttribute("value")))).toEqual(
      expect.arrayContaining(["itemType", "schoolId", "userId"]),
    );
    await page.fill("#dimension", "itemType");
    await page.press("#dimension", "Enter");
    await page.waitForSelector('#breakdown[data-dimension="itemType"]');
    await ready(page);
    const range = presetRange("last7");
    const api = await summary({ groupBy: "dimension.itemType", meter: "pantry_items", ...range });
    const byValue = new Map(api.map((r) => [r["dimension.itemType"] ?? "(none)", r]));
    let table = await tableText(page, "#breakdown");
    expect(table.head.slice(0, 3)).toEqual(["itemType", "Total", "Events"]);
    expect(table.rows).toHaveLength(api.length);
    // Hostile values are text: markup shows as typed, no element made of it.
    expect(table.rows.map((r) => r[0])).toEqual(expect.arrayContaining([XSS, FORMULA, "__proto__", "canned", "fresh"]));
    expect(await page.$$eval("main img, main b, main i", (n) => n.length)).toBe(0);
    for (const row of table.rows) {
      const expected = byValue.get(row[0]!);
      expect(row[1], row[0]).toBe(shown(expected.total, "item"));
      expect(row[2], row[0]).toBe(shown(expected.count, "event"));
    }
    // Sorted by total, largest first; a click on Events sorts by it (largest first), again the other way.
    expect(table.rows.map((r) => figure(r[1]!))).toEqual([...api.map((r) => r.total)].sort((a, b) => b - a));
    await page.click('#breakdown button[data-sort="count"]');
    expect(await page.getAttribute('#breakdown th:has(button[data-sort="count"])', "aria-sort")).toBe("descending");
    table = await tableText(page, "#breakdown");
    expect(table.rows.map((r) => figure(r[2]!))).toEqual([...api.map((r) => r.count)].sort((a, b) => b - a));
    await page.click('#breakdown button[data-sort="count"]');
    expect(await page.getAttribute('#breakdown th:has(button[data-sort="count"])', "aria-sort")).toBe("ascending");
    await page.click('#breakdown button[data-sort="value"]');
    table = await tableText(page, "#breakdown");
    expect(table.rows.map((r) => r[0])).toEqual(
      [...table.rows.map((r) => r[0]!)].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
    );

    // The CSV is the table as shown: same rows, same order; figures as numbers, units in the header.
    const csv = await download(page, "#breakdown-csv");
    expect(csv.name).toMatch(/^tally-pantry_items-by-itemType-.*\.csv$/);
    expect(csv.text.endsWith("\r\n")).toBe(true);
    const parsed = parseCsv(csv.text);
    expect(parsed[0]).toEqual(["itemType", "Total (items)", "Events (events)", "Share (%)"]);
    expect(parsed.slice(1).map((r) => r[0])).toEqual(table.rows.map((r) => (/^[=+\-@\t\r]/.test(r[0]!) ? `'${r[0]}` : r[0])));
    for (const [i, row] of parsed.slice(1).entries()) {
      expect(Number(row[1])).toBe(figure(table.rows[i]![1]!));
      expect(Number(row[2])).toBe(figure(table.rows[i]![2]!));
      expect(`${Number(row[3]).toLocaleString("en-US")} %`).toBe(table.rows[i]![3]);
    }
    // The formula guard and RFC 4180 quoting, as the server's export does them.
    expect(csv.text).toContain(`"'=HYPERLINK(""http://x.example"",""a,b"")"`);
    expect(csv.text).toContain(`${XSS},`);

    // A dimension named like a prototype member is a dimension like any other.
    await page.fill("#dimension", "__proto__");
    await page.press("#dimension", "Enter");
    await page.waitForSelector('#breakdown[data-dimension="__proto__"]');
    await ready(page);
    const proto = (await summary({ groupBy: "dimension.__proto__", meter: "pantry_items", ...range })).map(
      (r) => r["dimension.__proto__"] ?? "(none)",
    );
    expect((await tableText(page, "#breakdown")).rows.map((r) => r[0]).sort()).toEqual([...proto].sort());
    expect(proto).toContain("polluted");
    await page.fill("#dimension", "itemType");
    await page.press("#dimension", "Enter");
    await page.waitForSelector('#breakdown[data-dimension="itemType"]');
    await ready(page);

    // The server's export of the same events, fetched with the header (no token in any URL).
    const full = await download(page, "#full-export");
    expect(full.name).toMatch(/^tally-events-pantry_items-.*\.csv$/);
    const lines = parseCsv(full.text);
    expect(lines[0]!.slice(0, 5)).toEqual(["id", "subjectId", "meter", "unit", "amount"]);
    expect(lines[0]).toContain("itemType");
    expect(lines.length - 1).toBe(api.reduce((s, r) => s + r.count, 0));
    expect(await page.textContent("#export-status")).toContain("Saved");
    expect(opened.requests.filter((r) => r.includes(secrets.SERVICE_API_KEY!))).toEqual([]);

    await expectNoHorizontalScroll(page, size);
    await finish(opened, `breakdown-${size.name}`);
  });

  it.each(SIZES)(
    "date range ($name): presets and custom dates, the previous period beside each figure (or no column where the server has none)",
    async (size) => {
      const opened = await signIn(size, secrets.SERVICE_API_KEY!);
      const { page } = opened;
      await page.selectOption("#meter", "pantry_items");
      await ready(page);

      await page.selectOption("#range-preset", "lastMonth");
      await ready(page);
      const lastMonth = presetRange("lastMonth");
      const monthTotal = (await summary({ groupBy: "meter", meter: "pantry_items", ...lastMonth }))[0]?.total ?? 0;
      expect(await page.getAttribute("#chart", "data-total")).toBe(String(monthTotal));
      expect(await page.textContent("#range-label")).toContain("Last month");

      await page.selectOption("#range-preset", "today");
      await ready(page);
      const today = (await summary({ groupBy: "meter", meter: "pantry_items", ...presetRange("today") }))[0]!.total;
      expect(await page.getAttribute("#chart", "data-total")).toBe(String(today));
      const bucket = await page.getAttribute("#chart", "data-bucket");
      if (bucket === "day") expect(await page.textContent("#chart-caption")).toContain("no hour buckets yet");
      else expect(await page.getAttribute("#chart", "data-points")).toBe("24");

      await page.selectOption("#range-preset", "custom");
      await ready(page);
      const from = new Date(todayStart() - 13 * DAY).toISOString().slice(0, 10);
      const to = new Date(todayStart() - 7 * DAY).toISOString().slice(0, 10);
      await page.fill("#range-from", from);
      await page.fill("#range-to", to);
      await page.dispatchEvent("#range-to", "change");
      await ready(page);
      const custom = { from: `${from}T00:00:00.000Z`, to: iso(Date.parse(`${to}T00:00:00Z`) + DAY) };
      const customTotal = (await summary({ groupBy: "meter", meter: "pantry_items", ...custom }))[0]?.total ?? 0;
      await page.waitForFunction((t) => document.querySelector("#chart")?.getAttribute("data-total") === String(t), customTotal);
      expect(await page.getAttribute("#chart", "data-points")).toBe("7");

      await page.selectOption("#range-preset", "last7");
      await page.fill("#dimension", "schoolId");
      await page.press("#dimension", "Enter");
      await page.check("#compare");
      await ready(page);
      const breakdown = await tableText(page, "#breakdown");
      if (compareSupported) {
        // Each figure beside the same range one range-length earlier, and the change, as the API has them.
        expect(breakdown.head).toEqual(["schoolId", "Total", "Events", "Previous", "Change", "Share"]);
        const week = presetRange("last7");
        const rows = new Map(
          (await summary({ groupBy: "dimension.schoolId", meter: "pantry_items", compare: "previous", ...week })).map((r) => [
            r["dimension.schoolId"],
            r,
          ]),
        );
        expect(breakdown.rows).toHaveLength(rows.size);
        for (const row of breakdown.rows) {
          const api = rows.get(row[0]!);
          expect(row[3], row[0]).toBe(shown(api.previousTotal, "item"));
          const delta = api.total - api.previousTotal;
          expect(row[4], row[0]).toMatch(
            delta === 0 ? /^no change$/ : new RegExp(`^${delta > 0 ? "\\+" : "−"}${shown(Math.abs(delta), "item")} `),
          );
        }
        const csv = parseCsv((await download(page, "#breakdown-csv")).text);
        expect(csv[0]).toEqual(["schoolId", "Total (items)", "Events (events)", "Previous (items)", "Change (items)", "Share (%)"]);
        for (const row of csv.slice(1)) {
          const api = rows.get(row[0]!);
          expect([Number(row[3]), Number(row[4])]).toEqual([api.previousTotal, api.total - api.previousTotal]);
        }
        const meters = await summary({ groupBy: "meter", meter: "pantry_items", compare: "previous", ...week });
        const change = meters[0]!.total - meters[0]!.previousTotal;
        expect(await page.textContent('#totals [data-meter="pantry_items"] .change')).toBe(
          `${change > 0 ? "+" : "−"}${shown(Math.abs(change), "item")} (${change > 0 ? "+" : "−"}${(Math.round((Math.abs(change) / meters[0]!.previousTotal) * 1000) / 10).toLocaleString("en-US")} %) vs previous period`,
        );
        expect(await page.textContent("#chart-caption")).toContain(`previous period ${shown(meters[0]!.previousTotal, "item")}`);
        expect(await page.locator("#chart rect.previous").count()).toBe(7);
        expect((await tableText(page, "#top-subjects")).head).toEqual(["#", "Subject", "Total", "Events", "Previous", "Change"]);
        expect(await page.isVisible("#compare-note")).toBe(false);
      } else {
        expect(breakdown.head).not.toContain("Previous");
        expect(await page.isVisible("#compare-note")).toBe(true);
      }
      await expectNoHorizontalScroll(page, size);
      await finish(opened, `date-range-compare-${size.name}`);
    },
  );

  it.each(SIZES)(
    "a subject's page ($name): limits with +N over, plan, overrides, holds, grants, features, closed periods",
    async (size) => {
      const opened = await signIn(size, secrets.SERVICE_API_KEY!, `#/subject/${PANTRY}`);
      const { page } = opened;
      expect(await page.textContent("#subject-title")).toBe(`Subject ${PANTRY}`);
      const rows = (await call("GET", `/v1/subjects/${PANTRY}/entitlements`)).data as any[];
      for (const row of rows)
        expect(Number(await page.getAttribute(`#entitlements [data-meter="${row.meter}"] .used`, "data-used")), row.meter).toBe(row.used);
      const items = rows.find((r) => r.meter === "pantry_items");
      const over = items.used - items.limit - items.granted;
      expect(over).toBeGreaterThan(0);
      expect((await page.textContent('#entitlements [data-meter="pantry_items"] .overage'))?.trim()).toBe(`+${shown(over, "item")} over`);
      expect(await page.textContent('#entitlements [data-meter="pantry_items"]')).toContain(
        `${shown(items.used, "item")} of ${shown(120, "item")} (soft)`,
      );
      expect(await page.getAttribute('#entitlements [data-meter="api_call"] [role=progressbar]', "aria-valuenow")).toBe("45");
      expect(await page.textContent('#entitlements [data-meter="api_call"]')).toContain("of 60 calls (hard)");

      expect(await page.textContent("#plan-name")).toBe("Pantry basic");
      const plan = await tableText(page, "#plan-entitlements");
      expect(plan.rows).toEqual([
        ["api_call", "50 calls", "month", "hard"],
        ["pantry_items", "120 items", "month", "soft"],
        ["pantry_visits", "unlimited", "none", "soft"],
      ]);
      expect((await tableText(page, "#overrides")).rows).toEqual([["api_call", "60 calls", "(plan's)", "(plan's)"]]);

      const held = (await call("GET", `/v1/subjects/${PANTRY}/reservations?status=held`)).data;
      expect((await tableText(page, "#holds")).rows).toEqual([["api_call", "2 calls", expect.any(String), held[0].id]]);
      const grants = (await tableText(page, "#grants")).rows;
      expect(grants.map((g) => [g[0], g[1], g[2]])).toEqual([
        ["pantry_items", "30 items of 30 items", "active"],
        ["api_call", "5 calls of 5 calls", "voided"],
      ]);
      expect((await tableText(page, "#features")).rows).toEqual([
        ["beta_reports", "true", "override"],
        ["csv_export", "true", "plan"],
        ["max_pantries", "3", "plan"],
      ]);
      const periods = (await call("GET", `/v1/periods?subjectId=${PANTRY}`)).data as any[];
      const periodRows = (await tableText(page, "#periods")).rows;
      expect(periodRows).toHaveLength(periods.length);
      const lastItems = periods.filter((p) => p.meter === "pantry_items").at(-1);
      expect(periodRows.find((r) => r[1] === "pantry_items")).toEqual(
        expect.arrayContaining([
          `${lastItems.periodStart.slice(0, 10)} → ${lastItems.periodEnd.slice(0, 10)}`,
          shown(lastItems.total, "item"),
        ]),
      );
      expect(await page.locator("#alerts li").count()).toBeGreaterThan(0);
      // The usage panels are this subject's only.
      const subjectItems = (await summary({ groupBy: "meter", subjectId: PANTRY, ...presetRange("last7") })).find(
        (r) => r.meter === "pantry_items",
      );
      expect(await page.textContent('#totals [data-meter="pantry_items"] .figure')).toBe(shown(subjectItems.total, "item"));

      await expectNoHorizontalScroll(page, size);
      await finish(opened, `subject-${size.name}`);
    },
  );

  it.each(SIZES)(
    "subject search ($name) by id prefix opens a subject whose id, plan and features are markup, shown as text",
    async (size) => {
      const opened = await signIn(size, secrets.SERVICE_API_KEY!);
      const { page } = opened;
      await page.fill("#search-prefix", "pantry-");
      await page.click("#search-form button[type=submit]");
      await ready(page);
      expect((await tableText(page, "#subject-results")).rows.map((r) => r[0])).toEqual([PANTRY, OTHER_PANTRY].sort());
      await page.fill("#search-prefix", "<b>");
      await page.click("#search-form button[type=submit]");
      await ready(page);
      expect((await tableText(page, "#subject-results")).rows).toEqual([[XSS_SUBJECT, "hostile", "calendar month", expect.any(String)]]);
      await page.click("#subject-results a.subject-link");
      await page.waitForSelector("#view-subject:not([hidden])");
      await ready(page);
      expect(await page.textContent("#subject-title")).toBe(`Subject ${XSS_SUBJECT}`);
      expect(await page.textContent("#plan-name")).toBe(XSS);
      expect((await tableText(page, "#features")).rows).toEqual([["motto", XSS, "override"]]);
      expect(await page.$$eval("main img, main b, main i", (n) => n.length)).toBe(0);
      await expectNoHorizontalScroll(page, size);
      await finish(opened, `subject-hostile-${size.name}`);
    },
  );

  it("operations: register a parked fax, replay and dismiss dead letters, notifications and deliveries", async () => {
    const opened = await signIn(SIZES[0], secrets.SERVICE_API_KEY!, "#/operations");
    const { page } = opened;
    for (const fax of PARKED_FAXES) await page.waitForSelector(`#unattributed form[data-fax="${fax}"]`);
    await finish(opened);

    // Screenshots before anything changes, at both sizes.
    for (const size of SIZES) {
      const look = await signIn(size, secrets.SERVICE_API_KEY!, "#/operations");
      await look.page.waitForSelector(`#unattributed form[data-fax="${PARKED_FAXES[0]}"]`);
      const deliveries = (await tableText(look.page, "#deliveries")).rows;
      expect(deliveries.map((r) => `${r[1]} ${r[3]}`)).toContain("pantry-sync succeeded");
      expect(deliveries.find((r) => r[1] === "broken-crm")?.[5]).toContain("HTTP 503");
      expect(await look.page.locator("#notifications li").count()).toBeGreaterThan(0);
      await expectNoHorizontalScroll(look.page, size);
      await finish(look, `operations-${size.name}`);
    }

    const act = await signIn(SIZES[0], secrets.SERVICE_API_KEY!, "#/operations");
    const p = act.page;
    const [fax] = PARKED_FAXES;
    await p.fill(`#unattributed form[data-fax="${fax}"] input`, OTHER_PANTRY);
    await p.click(`#unattributed form[data-fax="${fax}"] button`);
    await p.waitForSelector(`#unattributed form[data-fax="${fax}"]`, { state: "detached" });
    expect(await p.textContent("#ops-status")).toContain(`Fax ${fax} registered to ${OTHER_PANTRY}`);
    expect(await p.locator(`#unattributed form[data-fax="${PARKED_FAXES[1]}"]`).count()).toBe(1);
    expect((await call("GET", `/v1/faxes/telnyx/${fax}`)).fax.billedSubjectId).toBe(OTHER_PANTRY);

    const letters = (await call("GET", "/v1/dead-letters?status=open")).data.filter((l: any) =>
      JSON.stringify(l.body).includes(LATE_METER),
    );
    expect(letters).toHaveLength(2);
    for (const l of letters) await p.waitForSelector(`#dead-letters [data-dead-letter="${l.id}"]`);
    await call("PUT", `/v1/meters/${LATE_METER}`, { unit: "box", kind: "counter" });
    await p.click(`#dead-letters [data-dead-letter="${letters[0].id}"] button:has-text("Replay")`);
    await p.waitForSelector(`#dead-letters [data-dead-letter="${letters[0].id}"]`, { state: "detached" });
    expect(await p.textContent("#ops-status")).toContain(`Dead letter ${letters[0].id} replayed: applied`);
    await p.click(`#dead-letters [data-dead-letter="${letters[1].id}"] button:has-text("Dismiss")`);
    await p.waitForSelector(`#dead-letters [data-dead-letter="${letters[1].id}"]`, { state: "detached" });
    expect(await p.textContent("#ops-status")).toContain("dismissed");
    await p.selectOption("#dead-letter-status", "replayed");
    // A replayed letter has no action left: its (empty) actions cell is there, not visible.
    await p.waitForSelector(`#dead-letters [data-dead-letter="${letters[0].id}"]`, { state: "attached" });
    expect((await tableText(p, "#dead-letters")).rows.find((r) => r[2]?.includes(LATE_METER))?.[4]).toBe("replayed");
    const statuses = new Map((await call("GET", "/v1/dead-letters")).data.map((l: any) => [l.id, l.status]));
    expect([statuses.get(letters[0].id), statuses.get(letters[1].id)]).toEqual(["replayed", "dismissed"]);
    await finish(act, "operations-after-actions-desktop");
  });

  it.each(SIZES)("a user token ($name) sees its own subject only: no operator panels, no other subjects", async (size) => {
    const opened = await signIn(size, await userToken(PANTRY, 600));
    const { page } = opened;
    expect(await page.textContent("#who")).toContain(PANTRY);
    expect(await page.isVisible("#nav")).toBe(false);
    expect(await page.isVisible("#view-subject")).toBe(true);
    expect(await page.isVisible("#view-overview")).toBe(false);
    expect(await page.isVisible("#view-operations")).toBe(false);
    const own = (await callAs(await userToken(PANTRY, 60), "GET", "/v1/me/entitlements")).data;
    expect(await page.locator("#entitlements [data-meter]").count()).toBe(own.length);
    expect(await page.textContent('#entitlements [data-meter="pantry_items"] .overage')).toContain("over");
    expect(await page.textContent("#features tbody")).toContain("beta_reports");
    expect(await page.locator("#holds tbody tr").count()).toBe(1);
    expect(await page.textContent("#plan-hint")).toContain("as they apply to you");
    // Every read names this subject or is /v1/me; nothing for keys was even tried.
    const reads = opened.requests.filter((r) => r.startsWith("/v1/"));
    expect(reads.length).toBeGreaterThan(5);
    for (const r of reads) {
      const ok =
        r.startsWith("/v1/me/") ||
        r.startsWith("/v1/meters") ||
        r.startsWith(`/v1/subjects/${PANTRY}`) ||
        new URLSearchParams(r.split("?")[1]).get("subjectId") === PANTRY;
      expect(ok, r).toBe(true);
    }
    // Asking for another subject by hand changes nothing.
    await page.evaluate(() => {
      location.hash = "#/subject/pantry-7";
    });
    await ready(page);
    expect(await page.textContent("#subject-title")).toContain(PANTRY);
    await expectNoHorizontalScroll(page, size);
    await finish(opened, `user-${size.name}`);
  });

  it("an API key with usage:read only: its panels, and a short note where a panel needs another scope", async () => {
    const opened = await signIn(SIZES[0], readerKey);
    const { page } = opened;
    expect(await page.textContent("#who")).toContain("API key");
    expect(await page.getAttribute("#panel-totals", "data-panel-state")).toBe("ok");
    expect(await page.getAttribute("#panel-top-subjects", "data-panel-state")).toBe("ok");
    for (const panel of ["#panel-subject-search", "#panel-plans"]) {
      expect(await page.getAttribute(panel, "data-panel-state")).toBe("forbidden");
      expect(await page.textContent(`${panel} .panel-note`)).toBe("Hidden: this key lacks the 'admin' scope.");
      expect(await page.isVisible(`${panel} .panel-body`)).toBe(false);
    }
    await page.click('#nav a[data-nav="operations"]');
    await page.waitForSelector("#view-operations:not([hidden])");
    await ready(page);
    for (const panel of ["#panel-unattributed", "#panel-dead-letters", "#panel-deliveries"]) {
      expect(await page.getAttribute(panel, "data-panel-state")).toBe("forbidden");
    }
    expect(await page.getAttribute("#panel-notifications", "data-panel-state")).toBe("ok");
    await finish(opened, "operations-reader-desktop");

    const subject = await signIn(SIZES[0], readerKey, `#/subject/${PANTRY}`);
    expect(await subject.page.getAttribute("#panel-plan", "data-panel-state")).toBe("ok");
    expect(await subject.page.textContent("#plan-hint")).toContain("needs the admin scope");
    expect((await tableText(subject.page, "#plan-entitlements")).rows.map((r) => r[0])).toEqual([
      "api_call",
      "pantry_items",
      "pantry_visits",
    ]);
    await finish(subject);
  });

  it("an expired user token goes back to sign-in with the server's message", async () => {
    const exp = Math.floor(Date.now() / 1000) + 8;
    const opened = await signIn(SIZES[0], await userToken(PANTRY, 8), "", {
      settled: "body[data-state=ready], body[data-state=signed-out]",
    });
    const { page } = opened;
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now() + 1200)));
    if (await page.isVisible("#board")) await page.click("#refresh-now");
    await page.waitForSelector("#sign-in:not([hidden])");
    expect(await page.textContent("#sign-in-message")).toContain("The user token has expired");
    expect(await page.isVisible("#board")).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem("tally.token"))).toBeNull();
    await finish(opened, "signed-out-expired-desktop");
  });

  it("a revoked API key goes back to sign-in with the server's message (phone)", async () => {
    const key = await call("POST", "/v1/api-keys", { name: "soon revoked", scopes: ["usage:read"] });
    const opened = await signIn(SIZES[1], key.secret);
    const { page } = opened;
    await call("DELETE", `/v1/api-keys/${key.apiKey.id}`);
    await page.click("#refresh-now");
    await page.waitForSelector("#sign-in:not([hidden])");
    expect(await page.textContent("#sign-in-message")).toMatch(/revoked/i);
    await expectNoHorizontalScroll(page, SIZES[1]);
    await finish(opened, "signed-out-revoked-phone");
  });

  it("refreshes every 30 s, says when it last did, and pauses", async () => {
    const opened = await signIn(SIZES[0], secrets.SERVICE_API_KEY!, "", { before: (context) => context.clock.install() });
    const { page } = opened;
    const first = await page.textContent("#updated");
    expect(first).toMatch(/^Updated at \d\d:\d\d:\d\d$/);
    await page.clock.fastForward("00:31");
    await page.waitForFunction((f) => document.querySelector("#updated")?.textContent !== f, first);
    await ready(page);
    const second = await page.textContent("#updated");
    expect(second).toMatch(/^Updated at \d\d:\d\d:\d\d$/);

    await page.click("#auto-refresh");
    expect(await page.getAttribute("#auto-refresh", "aria-pressed")).toBe("false");
    const before = opened.requests.length;
    await page.clock.fastForward("01:05");
    await page.waitForTimeout(300);
    expect(await page.textContent("#updated")).toBe(second);
    expect(opened.requests.length).toBe(before);
    await finish(opened);
  });

  it("refuses a wrong key with a message", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    await page.fill("#token", "wrong");
    await page.click("#sign-in-form button[type=submit]");
    await page.waitForSelector("#sign-in-error:not(:empty)");
    expect(await page.textContent("#sign-in-error")).toContain("Sign-in failed");
    await context.close();
  });
});
