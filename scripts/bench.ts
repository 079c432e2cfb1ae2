// The benchmark: starts the worker locally (wrangler dev, fresh state), drives it from this
// separate process over loopback with bounded counts and durations, and prints its tables, also
// written to bench/results/<time>.json.   npm run bench [-- --quick] [-- --only holds|cost]
//
// Besides throughput and latency it reports what each request or event costs: CPU on workerd's
// runtime thread (the worker, every ledger and local D1 share it), wrangler's dev proxy apart, and
// — in a separate metrics pass — D1 and ledger rows written and D1 bytes per event. Every server
// runs with local observability off unless a pass says otherwise: one pair of short passes runs
// the main scenarios with it off and on, on fresh servers, to show what it costs.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import {
  auth,
  createSubjects,
  freshState,
  json,
  type LocalWorker,
  load,
  percentile,
  root,
  startLocalWorker,
  subjectsOnPlan,
} from "./lib/local-worker";
import { type CpuCost, cpuCost, peakMemoryMb, sampleCpu, waitForIdle } from "./lib/proc-cpu";
import { type BenchBackend, d1Backend, postgresBackend } from "./lib/bench-backend";
import { parseCommandLine, usageError } from "./lib/cli";
import {
  type BytesPerEvent,
  bytesPerEvent,
  type D1Bytes,
  d1Bytes,
  d1File,
  MetricsLog,
  type WritesPerEvent,
  writesPerEvent,
} from "./lib/write-metrics";

const USAGE = `Usage: npm run bench [-- --quick] [-- --only holds|cost] [-- --backend d1|postgres]

Starts the worker with wrangler dev on fresh local state, drives it over loopback with bounded
counts and durations, prints throughput, latency and what each request or event costs (CPU, rows
and bytes written), and writes the tables to bench/results/<time>.json. About eight minutes.

  --quick            shorter passes and a smaller summary history (about five minutes; default off)
  --only holds|cost  only the reserve + commit figures, or only the fresh servers' cost passes (default: everything)
  --backend B        where history is kept: d1 or postgres, a local cluster (default d1)
  -h, --help         this text

Example: npm run bench -- --only holds`;

const { values } = parseCommandLine(USAGE, {
  options: { quick: { type: "boolean", default: false }, only: { type: "string" }, backend: { type: "string", default: "d1" } },
});
const QUICK = values.quick;
/**
 * `holds`: only the reserve + commit figures, on an empty database (a short run on a shared machine).
 * `cost`: only the short passes on fresh servers: local observability off and on, and the metrics pass.
 */
const ONLY = values.only;
if (ONLY !== undefined && ONLY !== "holds" && ONLY !== "cost") usageError(`--only ${ONLY}: "holds" or "cost"`);
if (values.backend !== "d1" && values.backend !== "postgres") usageError(`--backend ${values.backend}: "d1" or "postgres"`);
/** Where history is kept; set up in main(). */
let backend: BenchBackend = d1Backend();

/** The server the scenarios below talk to. */
let base = "";
let current: LocalWorker | null = null;
const states: string[] = [];

interface Figure {
  name: string;
  value: string;
  detail?: string;
}
const figures: Figure[] = [];
const results: Record<string, unknown> = {};
/** CPU per unit by server ("main", "observability off", "observability on") and scenario. */
const costs: Record<string, Record<string, CpuCost & { idleBefore: number | null; postgresUs: number | null }>> = {};
/** What each scenario measured, in the form the targets read; by server and scenario. */
interface PassResult {
  units: number;
  events: number;
  rps?: number;
  p50?: number;
  p99?: number;
  eventsPerSecond?: number;
}
const shortResults: Record<string, Record<string, Omit<PassResult, "units">>> = {};
/** From the metrics pass: rows and bytes written per event, by scenario. */
const writes: Record<string, WritesPerEvent & { bytes: BytesPerEvent | null }> = {};

async function historyCount(meter: string): Promise<number> {
  const res = await fetch(`${base}/v1/usage/summary?groupBy=meter&meter=${meter}`, { headers: auth });
  const body = (await res.json()) as { data: { count: number }[] };
  return body.data[0]?.count ?? 0;
}

async function waitForCount(meter: string, expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = await historyCount(meter);
    if (count >= expected || Date.now() > deadline) return count;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs one scenario and charges the CPU the dev server's processes spent meanwhile to the units it
 * reports (requests or events). Scenarios that write events return once history holds all of them,
 * so the ledgers' flushes to D1 are part of the cost.
 */
async function measured<T extends { units: number }>(server: string, key: string, unit: string, run: () => Promise<T>): Promise<T> {
  const processes = current!.processes();
  const waited = await waitForIdle(processes);
  const before = sampleCpu(processes);
  const postgresBefore = backend.serverCpuUs();
  const result = await run();
  const postgresAfter = backend.serverCpuUs();
  costs[server] ??= {};
  costs[server][key] = {
    ...cpuCost(before, sampleCpu(processes), result.units, unit),
    idleBefore: waited,
    // History in PostgreSQL runs outside workerd: the server's CPU per unit, apart.
    postgresUs: postgresBefore === null || postgresAfter === null ? null : (postgresAfter - postgresBefore) / result.units,
  };
  progress(`${server}: ${key} (${result.units} × ${unit}: ${fmt(costs[server][key].runtimeUs)} µs of runtime CPU each)`);
  return result;
}

const started = performance.now();
/** A line on stderr as the run goes: it takes minutes. */
function progress(message: string) {
  console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`);
}

/**
 * Calls each ledger of a pool once (a check: a read) so that the pass after it meets warm objects:
 * workerd evicts a Durable Object idle for some seconds, and reopening one costs ~1–2 ms.
 */
function warm(prefix: string, size: number) {
  return load(
    (i) =>
      fetch(`${base}/v1/subjects/${prefix}-${i}/entitlements/api_call/check`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ amount: 1 }),
      }),
    { concurrency: 16, count: size },
  );
}

// ---- Scenarios: each the same shape on every server. ----

function healthz(concurrency: number, seconds: number) {
  return load(() => fetch(`${base}/healthz`), { concurrency, seconds }).then((r) => ({ ...r, units: r.requests, events: 0 }));
}

/** Single events, each with its own key, over the subjects `<pool>-N`, 32 connections. */
async function single(seconds: number, tag: string, pool = { prefix: "s", size: 1000 }) {
  const before = await historyCount("api_call");
  const r = await load(
    (i) =>
      fetch(`${base}/v1/usage`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ subjectId: `${pool.prefix}-${i % pool.size}`, meter: "api_call", idempotencyKey: `${tag}-${i}` }),
      }),
    { concurrency: 32, seconds },
  );
  const events = r.statuses[201] ?? 0;
  await waitForCount("api_call", before + events, 120_000);
  return { ...r, units: r.requests, events };
}

/**
 * `batches` requests of 1,000 events over the subjects `b-N` (`poolSize` of them), 8 in flight,
 * each request spread over `subjectsPerRequest` of them; until history holds every event.
 */
async function batch(batches: number, subjectsPerRequest: number, tag: string, poolSize = 1000) {
  const before = await historyCount("bench_batch");
  const started = performance.now();
  const items: Record<string, number> = {};
  const r = await load(
    async (b) => {
      const res = await fetch(`${base}/v1/usage/batch`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({
          events: Array.from({ length: 1000 }, (_, i) => ({
            subjectId: `b-${(b * subjectsPerRequest + (i % subjectsPerRequest)) % poolSize}`,
            meter: "bench_batch",
            idempotencyKey: `${tag}${b}-${i}`,
          })),
        }),
      });
      if (res.ok) {
        for (const item of ((await res.clone().json()) as { results: { status: string; error?: { code: string } }[] }).results) {
          const key = item.error ? `${item.status}:${item.error.code}` : item.status;
          items[key] = (items[key] ?? 0) + 1;
        }
      }
      return res;
    },
    { concurrency: 8, count: batches },
  );
  const acceptedSeconds = (performance.now() - started) / 1000;
  const stored = (await waitForCount("bench_batch", before + (items.created ?? 0), 120_000)) - before;
  const seconds = (performance.now() - started) / 1000;
  return {
    units: stored,
    events: stored,
    seconds,
    acceptedSeconds,
    eventsPerSecond: stored / seconds,
    p50: r.p50,
    requests: r.statuses,
    items,
  };
}

function check(subject: (i: number) => string, concurrency: number, seconds: number) {
  return load(
    (i) =>
      fetch(`${base}/v1/subjects/${subject(i)}/entitlements/api_call/check`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ amount: 1 }),
      }),
    { concurrency, seconds },
  ).then((r) => ({ ...r, units: r.requests, events: 0 }));
}

/** Consumes of 1 with keys unique to `tag`; until history holds every event they recorded. */
async function consume(
  subject: (i: number) => string,
  tag: string,
  opts: { concurrency: number; seconds?: number; count?: number; meter?: string },
) {
  const meter = opts.meter ?? "api_call";
  const before = await historyCount(meter);
  const r = await load(
    (i) =>
      fetch(`${base}/v1/subjects/${subject(i)}/entitlements/${meter}/consume`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ amount: 1, idempotencyKey: `${tag}-${i}` }),
      }),
    opts,
  );
  const events = r.statuses[200] ?? 0;
  await waitForCount(meter, before + events, 120_000);
  return { ...r, units: r.requests, events };
}

/**
 * Meters and the subject pools the scenarios use (`s-N` and `b-N` get a first event each, which
 * creates their ledgers; `c-N` are put on a plan); waits until history holds the first events.
 */
async function prepare(pools: { s?: number; b?: number; c?: number }) {
  for (const meter of ["bench_batch", "bench_queue", "bench_summary"]) {
    await fetch(`${base}/v1/meters/${meter}`, { method: "PUT", headers: json, body: JSON.stringify({ unit: "call" }) });
  }
  const before = await historyCount("api_call");
  let created = 0;
  const t0 = performance.now();
  for (const prefix of ["s", "b"] as const) {
    const size = pools[prefix] ?? 0;
    if (size === 0) continue;
    await createSubjects(base, prefix, size);
    created += size;
  }
  const t1 = performance.now();
  if (pools.c) await subjectsOnPlan(base, "bench", { api_call: { limit: 1e9 }, fax: { limit: 500 } }, "c", pools.c);
  const t2 = performance.now();
  await waitForCount("api_call", before + created, 120_000);
  progress(
    `subjects: ${created} created in ${((t1 - t0) / 1000).toFixed(1)} s${pools.c ? `, ${pools.c} put on a plan in ${((t2 - t1) / 1000).toFixed(1)} s` : ""}`,
  );
}

function use(worker: LocalWorker) {
  current = worker;
  base = worker.base;
}

async function main() {
  if (values.backend === "postgres") backend = await postgresBackend();
  if (ONLY === "cost") {
    await costServers();
    return report();
  }
  const state = freshState("tally-bench");
  states.push(state);
  // A month of history for the summary figure, written straight into local D1: pushing a million
  // events through the API would measure ingestion again, which figures 3 and 5 already do.
  const historySize = QUICK ? 100_000 : 1_000_000;
  const monthStart = Date.now() - 29 * 86_400_000;
  if (ONLY === undefined) await backend.seedSummaryHistory(state, historySize, monthStart);
  const worker = await startLocalWorker(state, { logName: "wrangler-dev", ...backend.worker });
  use(worker);
  try {
    for (const meter of ["bench_batch", "bench_queue", "bench_summary"]) {
      await fetch(`${base}/v1/meters/${meter}`, { method: "PUT", headers: json, body: JSON.stringify({ unit: "call" }) });
    }
    const seconds = QUICK ? 3 : 10;
    if (ONLY === "holds") await holdFigures(seconds);
    else await mainScenarios(worker, seconds, monthStart);
  } finally {
    await worker.stop();
  }
  if (ONLY === undefined) await costServers();
  report();
}

/** Every figure of the main server, in order; each phase starts once history has caught up with the one before. */
async function mainScenarios(worker: LocalWorker, seconds: number, monthStart: number) {
  const M = "main";
  // 1. The ceiling: a trivial endpoint through the same server, at 32 and at 8 connections.
  const ceiling = await measured(M, "healthz_c32", "request", () => healthz(32, seconds));
  figures.push({
    name: "ceiling: GET /healthz (32 connections)",
    value: `${ceiling.rps.toFixed(0)} req/s`,
    detail: `p50 ${ceiling.p50.toFixed(1)} ms, p99 ${ceiling.p99.toFixed(1)} ms`,
  });
  results.ceiling = ceiling;
  const ceiling8 = await measured(M, "healthz_c8", "request", () => healthz(8, QUICK ? 2 : 5));
  figures.push({
    name: "GET /healthz (8 connections)",
    value: `${ceiling8.rps.toFixed(0)} req/s`,
    detail: `p50 ${ceiling8.p50.toFixed(1)} ms, p99 ${ceiling8.p99.toFixed(1)} ms`,
  });
  results.ceiling8 = ceiling8;

  // 2. New subjects: each one's first event creates its ledger (a SQLite database). Then single
  //    events, each with its own key, over those 1,000 known subjects.
  // Everything runs on one local workerd thread, history writes included: each phase starts once
  // history has caught up with the one before, so that it is not charged for its backlog.
  const newSubjects = await measured(M, "new_subjects", "subject", async () => {
    const before = await historyCount("api_call");
    const rate = await createSubjects(base, "s", 1000);
    await waitForCount("api_call", before + 1000, 120_000);
    return { units: 1000, rate };
  });
  figures.push({ name: "new subjects (first event, batches of 1,000)", value: `${newSubjects.rate.toFixed(0)} subjects/s` });
  results.newSubjects = newSubjects.rate;
  const singleRun = await measured(M, "single_c32", "request", () => single(seconds, "single"));
  figures.push({
    name: "single POST /v1/usage (32 connections)",
    value: `${singleRun.rps.toFixed(0)} req/s`,
    detail: `p50 ${singleRun.p50.toFixed(1)} ms, p99 ${singleRun.p99.toFixed(1)} ms, ${((100 * singleRun.rps) / ceiling.rps).toFixed(0)} % of the ceiling`,
  });
  results.single = singleRun;

  // 3. Batches of 1,000 events over 1,000 known subjects, until history holds every one: each
  //    request over 10 subjects (100 events each), then over 500 (2 each: the fan-out).
  await prepare({ b: 1000 });
  const batchFigure = (name: string, r: Awaited<ReturnType<typeof batch>>) =>
    figures.push({
      name,
      value: `${r.eventsPerSecond.toFixed(0)} events/s`,
      detail: `${r.events} events in history after ${r.seconds.toFixed(1)} s (accepted in ${r.acceptedSeconds.toFixed(1)} s; requests ${JSON.stringify(r.requests)}, events ${JSON.stringify(r.items)})`,
    });
  const batch10 = await measured(M, "batch_10_subjects", "event", () => batch(QUICK ? 20 : 100, 10, "b"));
  batchFigure("batch ingest (1,000/request over 10 subjects, end to end)", batch10);
  const batch500 = await measured(M, "batch_500_subjects", "event", () => batch(QUICK ? 10 : 30, 500, "w"));
  batchFigure("batch ingest (1,000/request over 500 subjects, end to end)", batch500);
  results.batch = batch10;
  results.batch500 = batch500;

  // 4. Check and consume: one hot subject, then 1,000 subjects, 200 concurrent callers (and 8); and overshoot.
  await prepare({ c: 1000 });
  const latency: [string, string, Awaited<ReturnType<typeof check>>][] = [];
  const latencyRun = async (key: string, name: string, run: () => Promise<Awaited<ReturnType<typeof check>>>) => {
    latency.push([key, name, await measured(M, key, "request", run)]);
  };
  await latencyRun("check_hot_c200", "check, one hot subject (200 callers)", () => check(() => "c-0", 200, seconds));
  await latencyRun("check_c200", "check, 1,000 subjects (200 callers)", () => check((i) => `c-${i % 1000}`, 200, seconds));
  await latencyRun("consume_c1", "consume, 1,000 subjects (1 caller)", () =>
    consume((i) => `c-${i % 1000}`, "c1", { concurrency: 1, seconds }),
  );
  await latencyRun("consume_c8", "consume, 1,000 subjects (8 callers)", () =>
    consume((i) => `c-${i % 1000}`, "c8", { concurrency: 8, seconds }),
  );
  await latencyRun("consume_hot_c200", "consume, one hot subject (200 callers)", () =>
    consume(() => "c-0", "chot", { concurrency: 200, seconds }),
  );
  await latencyRun("consume_c200", "consume, 1,000 subjects (200 callers)", () =>
    consume((i) => `c-${i % 1000}`, "c200", { concurrency: 200, seconds }),
  );
  const overshoot = await measured(M, "overshoot", "request", () =>
    consume(() => "c-7", "over", { concurrency: 200, count: 2000, meter: "fax" }),
  );
  for (const [, name, r] of latency) {
    figures.push({
      name,
      value: `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
      detail: `${r.rps.toFixed(0)} req/s, statuses ${JSON.stringify(r.statuses)}`,
    });
  }
  figures.push({
    name: "zero overshoot (limit 500, 2,000 consumes)",
    value: `${overshoot.statuses[200] ?? 0} allowed`,
    detail: `${overshoot.statuses[402] ?? 0} × 402`,
  });
  results.entitlements = {
    latency: Object.fromEntries(latency.map(([key, name, r]) => [key, { name, ...r }])),
    overshoot: overshoot.statuses,
  };

  // 4b. Holds: one reserve then its commit per iteration.
  await holdFigures(seconds);

  // 5. The queue: enqueue through /v1/usage/async, until the consumer has applied and flushed all.
  const queued = QUICK ? 10_000 : 50_000;
  const queue = await measured(M, "queue", "event", async () => {
    const started = performance.now();
    await load(
      (b) =>
        fetch(`${base}/v1/usage/async`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({
            events: Array.from({ length: 1000 }, (_, i) => ({
              subjectId: `q-${(b * 10 + (i % 10)) % 500}`,
              meter: "bench_queue",
              idempotencyKey: `q${b}-${i}`,
            })),
          }),
        }),
      { concurrency: 4, count: queued / 1000 },
    );
    const applied = await waitForCount("bench_queue", queued, 180_000);
    return { units: applied, events: applied, seconds: (performance.now() - started) / 1000 };
  });
  figures.push({
    name: "queue ingestion (through the consumer)",
    value: `${(queue.events / queue.seconds).toFixed(0)} events/s`,
    detail: `${queue.events} events in ${queue.seconds.toFixed(1)} s`,
  });
  results.queue = queue;

  // 6. The summary over the month of history seeded before start-up.
  const history = await waitForCount("bench_summary", 1, 10_000);
  const from = new Date(monthStart - 86_400_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  // Ragged from/to (not on a quarter-hour) so every query also reads the edges from the events.
  const groupings = [
    "meter",
    "day",
    "week&tz=America/New_York",
    "dimension.schoolId",
    "day,dimension.schoolId&tz=Asia/Kolkata",
    "subjectId",
  ];
  const timings: number[] = [];
  const byGrouping: Record<string, number[]> = {};
  await measured(M, "summary", "query", async () => {
    for (let round = 0; round < 3; round++) {
      for (const groupBy of groupings) {
        const t0 = performance.now();
        const res = await fetch(`${base}/v1/usage/summary?groupBy=${groupBy}&meter=bench_summary&from=${from}&to=${to}`, {
          headers: auth,
        });
        if (!res.ok) throw new Error(`summary ${groupBy}: ${res.status} ${await res.text()}`);
        await res.json();
        const ms = performance.now() - t0;
        timings.push(ms);
        byGrouping[groupBy] ??= [];
        byGrouping[groupBy].push(ms);
      }
    }
    return { units: timings.length };
  });
  timings.sort((a, b) => a - b);
  const slowest = Object.entries(byGrouping).sort((a, b) => Math.max(...b[1]) - Math.max(...a[1]))[0]!;
  figures.push({
    name: `summary over ${history.toLocaleString("en-US")} events (a month)`,
    value: `p50 ${percentile(timings, 50).toFixed(0)} ms`,
    detail: `max ${timings[timings.length - 1]!.toFixed(0)} ms (groupBy=${slowest[0]}) over ${groupings.length} groupings x 3`,
  });
  results.summary = { events: history, timings, byGrouping };

  const { runtime, proxy } = worker.processes();
  const memory = peakMemoryMb([runtime, ...(proxy === null ? [] : [proxy])]);
  figures.push({
    name: "peak memory of the worker processes",
    value: `${memory} MB`,
    detail: "VmHWM of the two workerd processes under wrangler dev",
  });
  results.memoryMb = memory;
}

/** One reserve then its commit (of less than was held) per iteration, over 1,000 subjects with a hard limit. */
async function holdFigures(seconds: number) {
  await fetch(`${base}/v1/meters/bench_hold`, { method: "PUT", headers: json, body: JSON.stringify({ unit: "call" }) });
  await subjectsOnPlan(base, "bench-holds", { bench_hold: { limit: 1e9 } }, "h");
  const byCallers: Record<string, unknown> = {};
  for (const concurrency of [1, 200]) {
    const reserveMs: number[] = [];
    const commitMs: number[] = [];
    const pairs = await measured("main", `holds_c${concurrency}`, "pair", async () => {
      const before = await historyCount("bench_hold");
      const r = await load(
        async (i) => {
          const subjectId = `h-${i % 1000}`;
          const t0 = performance.now();
          const reserved = await fetch(`${base}/v1/subjects/${subjectId}/entitlements/bench_hold/reserve`, {
            method: "POST",
            headers: json,
            body: JSON.stringify({ amount: 2, idempotencyKey: `h${concurrency}-${i}` }),
          });
          if (!reserved.ok) return reserved;
          const { reservation } = (await reserved.json()) as { reservation: { id: string } };
          const t1 = performance.now();
          const committed = await fetch(`${base}/v1/subjects/${subjectId}/reservations/${reservation.id}/commit`, {
            method: "POST",
            headers: json,
            body: JSON.stringify({ amount: 1 }),
          });
          reserveMs.push(t1 - t0);
          commitMs.push(performance.now() - t1);
          return committed;
        },
        { concurrency, seconds },
      );
      await waitForCount("bench_hold", before + (r.statuses[200] ?? 0), 120_000);
      return { ...r, units: r.requests };
    });
    const step = (ms: number[]) => {
      ms.sort((a, b) => a - b);
      return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
    };
    const [reserve, commit] = [step(reserveMs), step(commitMs)];
    const shown = (t: { p50: number; p99: number }) => `p50 ${t.p50.toFixed(1)} / p99 ${t.p99.toFixed(1)} ms`;
    const name = `reserve + commit, 1,000 subjects (${concurrency === 1 ? "1 caller" : `${concurrency} callers`})`;
    figures.push({
      name,
      value: `p50 ${pairs.p50.toFixed(1)} ms, p99 ${pairs.p99.toFixed(1)} ms`,
      detail: `reserve ${shown(reserve)}, commit ${shown(commit)}; ${pairs.rps.toFixed(0)} pairs/s, statuses (of the commit, or of a reserve that failed) ${JSON.stringify(pairs.statuses)}`,
    });
    byCallers[concurrency] = { ...pairs, reserve, commit };
  }
  results.holds = byCallers;
}

/**
 * Short passes of the main scenarios on fresh servers: with local observability off and on (CPU),
 * then with METRICS_LOG on (rows and bytes written; its CPU is not reported, logging costs CPU).
 */
async function costServers() {
  const seconds = QUICK ? 2 : 4;
  const batches = QUICK ? 5 : 10;
  // Pools of 500 (the main server's have 1,000): enough for a batch over 500 subjects and for
  // single events and consumes that each meet a ledger with nothing else to flush; half the set-up.
  const POOL = 500;
  /** Each pass with the subject pool it uses (warmed before it). */
  const passes: { key: string; unit: string; pool?: string; run: (tag: string) => Promise<PassResult> }[] = [
    { key: "healthz_c32", unit: "request", run: () => healthz(32, seconds) },
    { key: "healthz_c8", unit: "request", run: () => healthz(8, seconds) },
    { key: "single_c32", unit: "request", pool: "b", run: (tag) => single(seconds, `${tag}-single`, { prefix: "b", size: POOL }) },
    { key: "batch_500_subjects", unit: "event", pool: "b", run: (tag) => batch(batches, 500, `${tag}w`, POOL) },
    { key: "batch_10_subjects", unit: "event", pool: "b", run: (tag) => batch(batches, 10, `${tag}b`, POOL) },
    {
      key: "consume_c8",
      unit: "request",
      pool: "c",
      run: (tag) => consume((i) => `c-${i % POOL}`, `${tag}-c8`, { concurrency: 8, seconds }),
    },
  ];
  const servers = [
    { label: "observability off", tag: "off", observability: false, metrics: false },
    { label: "observability on", tag: "on", observability: true, metrics: false },
    { label: "metrics", tag: "metrics", observability: false, metrics: true },
  ];
  // One migrated state, copied for each server: applying the migrations takes seconds.
  const template = freshState("tally-bench-template");
  states.push(template);
  for (const server of servers) {
    const state = `${template}-${server.tag}`;
    cpSync(template, state, { recursive: true });
    states.push(state);
    const metrics = server.metrics ? new MetricsLog() : null;
    const worker = await startLocalWorker(state, {
      logName: `wrangler-dev-${server.tag}`,
      observability: server.observability,
      ...backend.worker,
      ...(metrics
        ? {
            vars: { ...backend.worker.vars, METRICS_LOG: "true" },
            logLevel: "log" as const,
            onLine: (line: string) => metrics.onLine(line),
          }
        : {}),
    });
    use(worker);
    try {
      await prepare({ b: POOL, c: POOL });
      progress(`${server.label}: server ready, subjects created`);
      const file = d1File(state);
      for (const pass of passes) {
        if (metrics && pass.key.startsWith("healthz")) continue;
        if (pass.pool) await warm(pass.pool, POOL);
        if (!metrics) {
          const r = await measured(server.label, pass.key, pass.unit, () => pass.run(server.tag));
          shortResults[server.label] ??= {};
          shortResults[server.label]![pass.key] = {
            rps: r.rps,
            p50: r.p50,
            p99: r.p99,
            eventsPerSecond: r.eventsPerSecond,
            events: r.events,
          };
          continue;
        }
        await waitForIdle(worker.processes());
        const [rowsBefore, bytesBefore] = [metrics.snapshot(), await historyBytes(file)];
        const r = await pass.run(server.tag);
        // The last flush's line may reach wrangler's output a moment after D1 has the rows.
        await new Promise((resolve) => setTimeout(resolve, 500));
        writes[pass.key] = {
          ...writesPerEvent(rowsBefore, metrics.snapshot(), r.events),
          bytes: r.events > 0 ? bytesPerEvent(bytesBefore, await historyBytes(file), r.events) : null,
        };
        progress(`metrics: ${pass.key} (${r.events} events, ${fmt(writes[pass.key]!.d1RowsPerEvent, 2)} D1 rows each)`);
      }
    } finally {
      await worker.stop();
    }
  }
}

/** D1's bytes, with PostgreSQL's history counted as one more table when history is kept there. */
async function historyBytes(file: string): Promise<D1Bytes> {
  const [d1, postgres] = [await d1Bytes(file), await backend.historyBytes()];
  return postgres === null ? d1 : { total: d1.total + postgres, byTable: { ...d1.byTable, "postgres history": postgres } };
}

// ---- Report ----

const fmt = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || Number.isNaN(v)
    ? "n/a"
    : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

interface Target {
  figure: string;
  /** Measured on the main server (observability off), and in the short fresh passes off / on. */
  value: number | null;
  off: number | null;
  on: number | null;
  unit: string;
  target: string;
  met: boolean | null;
}

function targets(): Target[] {
  const r = results as {
    ceiling?: PassResult;
    ceiling8?: PassResult;
    single?: PassResult;
    batch?: PassResult;
    batch500?: PassResult;
    entitlements?: { latency: Record<string, PassResult> };
  };
  /** The main server's results under the short passes' names. */
  const mainResults: Record<string, Omit<PassResult, "units"> | undefined> = {
    healthz_c32: r.ceiling,
    healthz_c8: r.ceiling8,
    single_c32: r.single,
    batch_10_subjects: r.batch,
    batch_500_subjects: r.batch500,
    consume_c8: r.entitlements?.latency.consume_c8,
  };
  const servers = [
    { cost: costs.main ?? {}, res: mainResults },
    { cost: costs["observability off"] ?? {}, res: shortResults["observability off"] ?? {} },
    { cost: costs["observability on"] ?? {}, res: shortResults["observability on"] ?? {} },
  ];
  type Server = (typeof servers)[number];
  const cpuRatio = (key: string) => (s: Server) => {
    const [a, b] = [s.cost[key], s.cost.healthz_c32];
    return a && b ? a.runtimeUs / b.runtimeUs : null;
  };
  const out: Target[] = [];
  const add = (figure: string, unit: string, target: string, ok: (v: number) => boolean, of: (s: Server) => number | null | undefined) => {
    const [value, off, on] = servers.map((s) => of(s) ?? null) as [number | null, number | null, number | null];
    out.push({ figure, value, off, on, unit, target, met: value === null ? null : ok(value) });
  };
  add(
    "batch end to end, 1,000/request over 500 subjects",
    "ev/s",
    "≥ 5,000",
    (v) => v >= 5000,
    (s) => s.res.batch_500_subjects?.eventsPerSecond,
  );
  add(
    "batch end to end, 1,000/request over 10 subjects",
    "ev/s",
    "≥ 40,000",
    (v) => v >= 40_000,
    (s) => s.res.batch_10_subjects?.eventsPerSecond,
  );
  add(
    "batch, CPU µs per event (500 subjects)",
    "µs",
    "≤ 150",
    (v) => v <= 150,
    (s) => s.cost.batch_500_subjects?.runtimeUs,
  );
  add(
    "single POST, throughput ÷ /healthz's (32 connections)",
    "%",
    "≥ 50",
    (v) => v >= 50,
    (s) => {
      const [a, b] = [s.res.single_c32?.rps, s.res.healthz_c32?.rps];
      return a !== undefined && b ? (100 * a) / b : null;
    },
  );
  add("single POST, CPU per request ÷ /healthz's", "×", "≤ 2.5", (v) => v <= 2.5, cpuRatio("single_c32"));
  add("consume, CPU per request ÷ /healthz's", "×", "≤ 2.5", (v) => v <= 2.5, cpuRatio("consume_c8"));
  add(
    "consume p50 added over /healthz's, 8 connections",
    "ms",
    "≤ +3",
    (v) => v <= 3,
    (s) => {
      const [a, b] = [s.res.consume_c8?.p50, s.res.healthz_c8?.p50];
      return a !== undefined && b !== undefined ? a - b : null;
    },
  );
  const w = writes.batch_500_subjects;
  const once = (v: number | null | undefined) => (s: Server) => (s === servers[0] ? v : null);
  add("D1 rows written per event (batch, 500 subjects)", "rows", "≤ 3", (v) => v <= 3, once(w?.d1RowsPerEvent));
  add("D1 bytes per event, indexes included (batch, 500 subjects)", "B", "≤ 200", (v) => v <= 200, once(w?.bytes?.total));
  add("ledger rows written per event (batch, 500 subjects)", "rows", "≤ 3", (v) => v <= 3, once(w?.ledgerRowsPerEvent));
  return out;
}

function report() {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const wranglerVersion = (JSON.parse(readFileSync(path.join(root, "node_modules/wrangler/package.json"), "utf8")) as { version: string })
    .version;
  console.log(
    `\ntally benchmark — ${new Date().toISOString()}${QUICK ? " (quick)" : ""}, history in ${backend.name === "d1" ? "D1" : "PostgreSQL"}\n${machine}, wrangler ${wranglerVersion}\n`,
  );
  if (figures.length > 0) {
    console.log("local observability off (X_LOCAL_OBSERVABILITY=false)\n");
    const width = Math.max(...figures.map((f) => f.name.length));
    for (const f of figures) console.log(`${f.name.padEnd(width)}  ${f.value.padEnd(28)}  ${f.detail ?? ""}`);
  }

  const cpuRows = (server: string) => {
    const yardstick = costs[server]?.healthz_c32?.runtimeUs;
    return Object.entries(costs[server] ?? {}).map(([key, c]) => [
      key,
      c.unit,
      fmt(c.units),
      fmt(c.runtimeUs),
      yardstick ? `${fmt(c.runtimeUs / yardstick, 2)}×` : "",
      fmt(c.runtimeMainUs),
      fmt(c.runtimeSystemUs),
      fmt(c.proxyUs),
      fmt(c.loadGeneratorUs),
      `${fmt(100 * c.runtimeBusy)} %`,
      fmt(c.othersBusyCores, 2),
      ...(backend.name === "postgres" ? [fmt(c.postgresUs)] : []),
    ]);
  };
  const cpuHead = [
    "CPU per unit, µs",
    "unit",
    "units",
    "runtime",
    "÷ healthz",
    "main thread",
    "in kernel",
    "proxy",
    "load gen.",
    "runtime busy",
    "others, cores",
    ...(backend.name === "postgres" ? ["PostgreSQL"] : []),
  ];
  if (costs.main) {
    console.log(`\n${table(cpuHead, cpuRows("main"))}`);
    console.log("runtime: the workerd process that runs worker, ledgers and D1 (every thread; its main thread and kernel time apart).");
    console.log("÷ healthz: runtime CPU per unit over GET /healthz's (32 connections), the yardstick that moves with the machine.");
    console.log("proxy: wrangler dev's second workerd, local only. load gen.: this process. Neither is counted in runtime.");
    console.log(
      "others, cores: what the rest of the machine used meanwhile (other processes, wrangler's CLI); CPU per unit grows with it.",
    );
    if (backend.name === "postgres")
      console.log("PostgreSQL: the local server's CPU (its backends included), outside workerd and not in runtime.");
  }

  const off = costs["observability off"];
  const on = costs["observability on"];
  if (off && on) {
    const rows = Object.keys(off).map((key) => {
      const [a, b] = [off[key], on[key]];
      return [
        key,
        a?.unit ?? "",
        fmt(a?.runtimeUs),
        fmt(b?.runtimeUs),
        a && b ? `${fmt(b.runtimeUs / a.runtimeUs, 2)}×` : "n/a",
        fmt(a?.proxyUs),
        fmt(b?.proxyUs),
      ];
    });
    console.log(
      `\nlocal observability (short passes, fresh servers)\n${table(["runtime CPU per unit, µs", "unit", "off", "on", "on ÷ off", "proxy off", "proxy on"], rows)}`,
    );
  }

  if (Object.keys(writes).length > 0) {
    const rows = Object.entries(writes).map(([key, w]) => [
      key,
      fmt(w.events),
      fmt(w.d1RowsPerEvent, 2),
      fmt(w.ledgerRowsPerEvent, 2),
      fmt(w.eventsPerLedgerCall, 1),
      fmt(w.eventsPerFlush, 1),
      fmt(w.eventsPerD1Write, 1),
      fmt(w.bytes?.total),
      w.bytes
        ? Object.entries(w.bytes.byTable)
            .slice(0, 3)
            .map(([t, b]) => `${t} ${fmt(b)}`)
            .join(", ")
        : "",
    ]);
    console.log(
      `\nwritten per event (metrics pass: METRICS_LOG=true, fresh server)\n${table(
        [
          "scenario",
          "events",
          "D1 rows",
          "ledger rows",
          "events/ledger call",
          "events/flush",
          "events/D1 batch",
          "D1 bytes",
          "largest (bytes/event)",
        ],
        rows,
      )}`,
    );
    if (Object.values(writes).every((w) => w.totals.ledgerCalls === 0 && w.totals.flushes === 0)) {
      console.log(
        "no metrics lines in the dev server's output: the ledger does not log metrics.ledger_call / metrics.history_flush / metrics.history_write yet.",
      );
    }
  }

  const t = ONLY === undefined || ONLY === "cost" ? targets() : [];
  if (t.length > 0) {
    const shown = (v: number | null, unit: string) =>
      v === null ? "n/a" : `${fmt(v, unit === "rows" || unit === "×" ? 2 : unit === "ms" ? 1 : 0)} ${unit}`;
    const rows = t.map((x) => [
      x.figure,
      shown(x.value, x.unit),
      shown(x.off, x.unit),
      shown(x.on, x.unit),
      x.target,
      x.met === null ? "" : x.met ? "met" : "missed",
    ]);
    console.log(`\n${table(["issue 15 target", "main server", "short: obs off", "short: obs on", "target", ""], rows)}`);
    console.log(
      "main server: local observability off, the passes above. short: the fresh servers' passes. Rows and bytes: the metrics pass.",
    );
  }

  const dir = path.join(root, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        machine,
        wrangler: wranglerVersion,
        quick: QUICK,
        only: ONLY ?? null,
        backend: backend.name,
        figures,
        results,
        costs,
        writes,
        targets: t,
        localObservability: { main: false },
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${path.relative(root, file)}`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const state of states) rmSync(state, { recursive: true, force: true });
  });
