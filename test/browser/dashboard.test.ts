import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { sign } from "hono/jwt";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Drives the dashboard in Debian's headless Chromium against `wrangler dev` (the same server as
 * `npm run dev`, on a free port and a fresh local state), seeded through the API.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = path.resolve(import.meta.dirname, "../..");
let server: ChildProcess;
let base = "";
let browser: Browser;
let secrets: Record<string, string> = {};
const subjectId = "pantry-42";

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

async function call(method: string, route: string, body?: unknown) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${secrets.SERVICE_API_KEY}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function ready(page: Page) {
  await page.waitForSelector("body[data-state=ready]", { timeout: 20_000 });
}

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
  server = spawn(
    wrangler,
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--show-interactive-dev-session=false"],
    {
      cwd: root,
      stdio: "ignore",
    },
  );
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }

  await call("PUT", "/v1/plans/pantry", {
    entitlements: { pantry_items: { limit: 120, period: "month" }, api_call: { limit: 50 } },
    features: { csv_export: true, max_pantries: 3 },
  });
  await call("PUT", `/v1/subjects/${subjectId}`, { planId: "pantry" });
  const now = Date.now();
  const events = Array.from({ length: 60 }, (_, i) => ({
    subjectId,
    meter: "pantry_items",
    amount: (i % 4) + 1,
    timestamp: new Date(now - (i % 20) * 86_400_000 - 60_000).toISOString(),
    idempotencyKey: `visit-${i}`,
    dimensions: { schoolId: `School ${i % 3}`, itemType: i % 2 ? "canned" : "fresh" },
  }));
  await call("POST", "/v1/usage/batch", { events });
  await call("POST", `/v1/subjects/${subjectId}/entitlements/api_call/consume`, { amount: 45 });
  await call("POST", `/v1/subjects/${subjectId}/entitlements/api_call/reserve`, { amount: 2, ttlSeconds: 3600 });
  await call("POST", `/v1/subjects/${subjectId}/grants`, { meter: "pantry_items", amount: 30, idempotencyKey: "welcome" });
  for (let i = 0; i < 40; i++) {
    const history = await call("GET", `/v1/usage?subjectId=${subjectId}&limit=1000`);
    if (history.data.length === 61) break;
    await new Promise((r) => setTimeout(r, 250));
  }
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
}, 180_000);

afterAll(async () => {
  await browser?.close();
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
  it("signs in with the service key, shows the API's numbers, switches the chart range, and saves a screenshot", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${base}/dashboard`);
    await page.fill("#token", secrets.SERVICE_API_KEY!);
    await page.click("#sign-in-form button[type=submit]");
    await ready(page);
    await page.fill("#subject", subjectId);
    await page.click("#subject-form button[type=submit]");
    await ready(page);

    const api = await call("GET", `/v1/subjects/${subjectId}/entitlements`);
    for (const row of api.data as { meter: string; used: number }[]) {
      const shown = await page.getAttribute(`[data-meter="${row.meter}"] .used`, "data-used");
      expect(Number(shown), row.meter).toBe(row.used);
    }
    expect(await page.getAttribute('[data-meter="api_call"] [role=progressbar]', "aria-valuenow")).toBe("45");

    await page.selectOption("#trend-meter", "pantry_items");
    await page.waitForFunction(() => document.querySelector("#chart")?.getAttribute("data-total") !== "0");
    await page.click("[data-range=week]");
    await ready(page);
    expect(await page.getAttribute("#chart", "data-range")).toBe("week");
    expect(await page.getAttribute("[data-range=week]", "aria-pressed")).toBe("true");
    const total = (api.data as { meter: string; used: number }[]).find((r) => r.meter === "pantry_items")!.used;
    await page.waitForFunction((t) => Number(document.querySelector("#chart")?.getAttribute("data-total")) >= t, total);
    expect(await page.locator("#chart rect").count()).toBeGreaterThan(1);
    expect(await page.locator("#breakdown tbody tr").count()).toBe(3);
    expect(await page.locator("#alerts li").first().textContent()).toContain("api_call");
    expect(await page.isVisible("#operator")).toBe(true);

    // Holds, grants and features, as the API answers them.
    expect(await page.getAttribute('[data-meter="api_call"] .held', "data-held")).toBe("2");
    expect(await page.getAttribute('[data-meter="pantry_items"] .granted', "data-granted")).toBe("30");
    const held = await call("GET", `/v1/subjects/${subjectId}/reservations?status=held`);
    expect(await page.textContent("#holds tbody")).toContain(held.data[0].id);
    expect(await page.textContent("#grants tbody")).toContain("30 of 30");
    expect(await page.locator("#features tbody tr").count()).toBe(2);
    expect(await page.textContent("#features tbody")).toContain("csv_export");

    mkdirSync(path.join(root, "test-results"), { recursive: true });
    await page.screenshot({ path: path.join(root, "test-results/dashboard.png"), fullPage: true });
    await page.close();
  });

  it("shows a user token its own usage only, without the operator panels", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await sign({ sub: subjectId, iat: now, exp: now + 600 }, secrets.JWT_SECRET!, "HS256");
    const page = await browser.newPage();
    await page.goto(`${base}/dashboard`);
    await page.fill("#token", token);
    await page.click("#sign-in-form button[type=submit]");
    await ready(page);
    expect(await page.textContent("#who")).toContain(subjectId);
    expect(await page.isVisible("#operator")).toBe(false);
    expect(await page.isVisible("#subject-form")).toBe(false);
    expect(await page.locator("[data-meter]").count()).toBe(2);
    expect(await page.textContent("#features tbody")).toContain("max_pantries");
    expect(await page.locator("#holds tbody tr").count()).toBe(1);
    await page.close();
  });

  it("refuses a wrong key with a message", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/dashboard`);
    await page.fill("#token", "wrong");
    await page.click("#sign-in-form button[type=submit]");
    await page.waitForSelector("#sign-in-error:not(:empty)");
    expect(await page.textContent("#sign-in-error")).toContain("Sign-in failed");
    await page.close();
  });
});
