// The benchmark: starts the worker locally (wrangler dev, fresh state), drives it from this
// separate process over loopback with bounded counts and durations, and prints one table,
// also written to bench/results/<time>.json.   npm run bench [-- --quick] [-- --only holds]
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  auth,
  createSubjects,
  freshState,
  json,
  load,
  percentile,
  root,
  startLocalWorker,
  subjectsOnPlan,
  wrangler,
} from "./lib/local-worker";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, only: { type: "string" } } });
const QUICK = values.quick;
/** `holds`: only the reserve + commit figures, on an empty database (a short run on a shared machine). */
const ONLY = values.only;
if (ONLY !== undefined && ONLY !== "holds") throw new Error(`--only ${ONLY}: the only scenario that runs alone is "holds"`);
let base = "";

interface Figure {
  name: string;
  value: string;
  detail?: string;
}
const figures: Figure[] = [];
const results: Record<string, unknown> = {};

async function waitForCount(meter: string, expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${base}/v1/usage/summary?groupBy=meter&meter=${meter}`, { headers: auth });
    const body = (await res.json()) as { data: { count: number }[] };
    const count = body.data[0]?.count ?? 0;
    if (count >= expected || Date.now() > deadline) return count;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Peak resident memory (VmHWM) of the workerd processes under the dev server. */
function peakMemoryMb(): number {
  try {
    const pids = execFileSync("pgrep", ["-f", "workerd"], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
    let peak = 0;
    for (const pid of pids) {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const match = /VmHWM:\s+(\d+) kB/.exec(status);
      if (match) peak = Math.max(peak, Number(match[1]) / 1024);
    }
    return Math.round(peak);
  } catch {
    return Number.NaN;
  }
}

async function main() {
  const state = freshState("tally-bench");
  // A month of history for the summary figure, written straight into local D1: pushing a million
  // events through the API would measure ingestion again, which figures 3 and 5 already do.
  const historySize = QUICK ? 100_000 : 1_000_000;
  const monthStart = Date.now() - 29 * 86_400_000;
  if (ONLY === undefined) {
    execFileSync(
      wrangler,
      [
        "d1",
        "execute",
        "DB",
        "--local",
        "--persist-to",
        state,
        "--command",
        `WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ${historySize - 1})
         INSERT INTO usage_events (id, subject_id, meter, unit, amount_e4, operation, occurred_at, received_at, source, dimensions, metadata)
         SELECT 'evt_bench_' || n, 'm-' || (n % 2000), 'bench_summary', 'call', 10000 * (1 + n % 5), 'add',
                ${monthStart} + (n * 2591) % ${28 * 86_400_000}, ${monthStart}, 'bench', json_object('schoolId', 'S' || (n % 20)), '{}'
         FROM seq`,
      ],
      { cwd: root, stdio: "ignore" },
    );
  }
  const worker = await startLocalWorker(state, { logName: "wrangler-dev" });
  base = worker.base;
  try {
    for (const meter of ["bench_batch", "bench_queue", "bench_summary"]) {
      await fetch(`${base}/v1/meters/${meter}`, { method: "PUT", headers: json, body: JSON.stringify({ unit: "call" }) });
    }
    const seconds = QUICK ? 3 : 10;
    if (ONLY === "holds") {
      await holdFigures(seconds);
      return report();
    }

    // 1. The ceiling: a trivial endpoint through the same server.
    const ceiling = await load(() => fetch(`${base}/healthz`), { concurrency: 32, seconds });
    figures.push({
      name: "ceiling: GET /healthz",
      value: `${ceiling.rps.toFixed(0)} req/s`,
      detail: `p50 ${ceiling.p50.toFixed(1)} ms, p99 ${ceiling.p99.toFixed(1)} ms`,
    });
    results.ceiling = ceiling;

    // 2. New subjects: each one's first event creates its ledger (a SQLite database). Then single
    //    events, each with its own key, over those 1,000 known subjects.
    // Everything runs on one local workerd thread, history writes included: each phase starts once
    // history has caught up with the one before, so that it is not charged for its backlog.
    const created = await createSubjects(base, "s", 1000);
    let apiCalls = await waitForCount("api_call", 1000, 120_000);
    figures.push({ name: "new subjects (first event, batches of 1,000)", value: `${created.toFixed(0)} subjects/s` });
    results.newSubjects = created;
    const single = await load(
      (i) =>
        fetch(`${base}/v1/usage`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({ subjectId: `s-${i % 1000}`, meter: "api_call", idempotencyKey: `single-${i}` }),
        }),
      { concurrency: 32, seconds },
    );
    figures.push({
      name: "single POST /v1/usage",
      value: `${single.rps.toFixed(0)} req/s`,
      detail: `p50 ${single.p50.toFixed(1)} ms, p99 ${single.p99.toFixed(1)} ms, ${((100 * single.rps) / ceiling.rps).toFixed(0)} % of the ceiling`,
    });
    results.single = single;
    apiCalls = await waitForCount("api_call", apiCalls + (single.statuses[201] ?? 0), 120_000);

    // 3. Batches of 1,000 events (10 subjects each, 1,000 known subjects in all), until history holds every one.
    const batches = QUICK ? 20 : 100;
    await createSubjects(base, "b", 1000);
    await waitForCount("api_call", apiCalls + 1000, 120_000);
    const batchStart = performance.now();
    const itemStatuses: Record<string, number> = {};
    const batchLoad = await load(
      async (b) => {
        const res = await fetch(`${base}/v1/usage/batch`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({
            events: Array.from({ length: 1000 }, (_, i) => ({
              subjectId: `b-${(b * 10 + (i % 10)) % 1000}`,
              meter: "bench_batch",
              idempotencyKey: `b${b}-${i}`,
            })),
          }),
        });
        if (res.ok) {
          for (const r of ((await res.clone().json()) as { results: { status: string; error?: { code: string } }[] }).results) {
            const key = r.error ? `${r.status}:${r.error.code}` : r.status;
            itemStatuses[key] = (itemStatuses[key] ?? 0) + 1;
          }
        }
        return res;
      },
      { concurrency: 8, count: batches },
    );
    const acceptedAt = performance.now();
    const stored = await waitForCount("bench_batch", batches * 1000, 120_000);
    const batchSeconds = (performance.now() - batchStart) / 1000;
    figures.push({
      name: "batch ingest (1,000/request, end to end)",
      value: `${(stored / batchSeconds).toFixed(0)} events/s`,
      detail: `${stored} events in history after ${batchSeconds.toFixed(1)} s (accepted in ${((acceptedAt - batchStart) / 1000).toFixed(1)} s; requests ${JSON.stringify(batchLoad.statuses)}, events ${JSON.stringify(itemStatuses)})`,
    });
    results.batch = { events: stored, seconds: batchSeconds, requests: batchLoad.statuses, items: itemStatuses };

    // 4. Check and consume: one hot subject, then 1,000 subjects, 200 concurrent callers; and overshoot.
    await subjectsOnPlan(base, "bench", { api_call: { limit: 1e9 }, fax: { limit: 500 } }, "c");
    const check = (subject: (i: number) => string) => (i: number) =>
      fetch(`${base}/v1/subjects/${subject(i)}/entitlements/api_call/check`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ amount: 1 }),
      });
    const consume =
      (subject: (i: number) => string, meter = "api_call") =>
      (i: number) =>
        fetch(`${base}/v1/subjects/${subject(i)}/entitlements/${meter}/consume`, {
          method: "POST",
          headers: json,
          body: JSON.stringify({ amount: 1, idempotencyKey: `c-${meter}-${i}` }),
        });
    const latency: [string, Awaited<ReturnType<typeof load>>][] = [
      [
        "check, one hot subject (200 callers)",
        await load(
          check(() => "c-0"),
          { concurrency: 200, seconds },
        ),
      ],
      [
        "check, 1,000 subjects (200 callers)",
        await load(
          check((i) => `c-${i % 1000}`),
          { concurrency: 200, seconds },
        ),
      ],
      [
        "consume, 1,000 subjects (1 caller)",
        await load(
          consume((i) => `c-${i % 1000}`),
          { concurrency: 1, seconds },
        ),
      ],
      [
        "consume, one hot subject (200 callers)",
        await load(
          consume(() => "c-0"),
          { concurrency: 200, seconds },
        ),
      ],
      [
        "consume, 1,000 subjects (200 callers)",
        await load(
          consume((i) => `c-${i % 1000}`),
          { concurrency: 200, seconds },
        ),
      ],
    ];
    const overshoot = await load(
      consume(() => "c-7", "fax"),
      { concurrency: 200, count: 2000 },
    );
    for (const [name, r] of latency) {
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
    results.entitlements = { latency: Object.fromEntries(latency), overshoot: overshoot.statuses };

    // 4b. Holds: one reserve then its commit per iteration.
    await holdFigures(seconds);

    // 5. The queue: enqueue through /v1/usage/async, until the consumer has applied and flushed all.
    const queued = QUICK ? 10_000 : 50_000;
    const queueStart = performance.now();
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
    const queueSeconds = (performance.now() - queueStart) / 1000;
    figures.push({
      name: "queue ingestion (through the consumer)",
      value: `${(applied / queueSeconds).toFixed(0)} events/s`,
      detail: `${applied} events in ${queueSeconds.toFixed(1)} s`,
    });
    results.queue = { events: applied, seconds: queueSeconds };

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
    for (let round = 0; round < 3; round++) {
      for (const groupBy of groupings) {
        const t0 = performance.now();
        const res = await fetch(`${base}/v1/usage/summary?groupBy=${groupBy}&meter=bench_summary&from=${from}&to=${to}`, { headers: auth });
        if (!res.ok) throw new Error(`summary ${groupBy}: ${res.status} ${await res.text()}`);
        await res.json();
        const ms = performance.now() - t0;
        timings.push(ms);
        byGrouping[groupBy] ??= [];
        byGrouping[groupBy].push(ms);
      }
    }
    timings.sort((a, b) => a - b);
    const slowest = Object.entries(byGrouping).sort((a, b) => Math.max(...b[1]) - Math.max(...a[1]))[0]!;
    figures.push({
      name: `summary over ${history.toLocaleString("en-US")} events (a month)`,
      value: `p50 ${percentile(timings, 50).toFixed(0)} ms`,
      detail: `max ${timings[timings.length - 1]!.toFixed(0)} ms (groupBy=${slowest[0]}) over ${groupings.length} groupings x 3`,
    });
    results.summary = { events: history, timings, byGrouping };

    const memory = peakMemoryMb();
    figures.push({ name: "peak memory of the worker process", value: `${memory} MB`, detail: "VmHWM of workerd under wrangler dev" });
    results.memoryMb = memory;
  } finally {
    worker.stop();
  }

  report();
}

/** One reserve then its commit (of less than was held) per iteration, over 1,000 subjects with a hard limit. */
async function holdFigures(seconds: number) {
  await fetch(`${base}/v1/meters/bench_hold`, { method: "PUT", headers: json, body: JSON.stringify({ unit: "call" }) });
  await subjectsOnPlan(base, "bench-holds", { bench_hold: { limit: 1e9 } }, "h");
  const byCallers: Record<string, unknown> = {};
  for (const concurrency of [1, 200]) {
    const reserveMs: number[] = [];
    const commitMs: number[] = [];
    const pairs = await load(
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

function report() {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  console.log(`\ntally benchmark — ${new Date().toISOString()}${QUICK ? " (quick)" : ""}\n${machine}\n`);
  const width = Math.max(...figures.map((f) => f.name.length));
  for (const f of figures) console.log(`${f.name.padEnd(width)}  ${f.value.padEnd(28)}  ${f.detail ?? ""}`);
  const dir = path.join(root, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replaceAll(":", "-")}.json`);
  writeFileSync(file, JSON.stringify({ machine, quick: QUICK, only: ONLY ?? null, figures, results }, null, 2));
  console.log(`\nwritten to ${path.relative(root, file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
