// CPU profile of the worker isolate (routes and Durable Objects) under one benchmark load, taken
// through wrangler dev's inspector.   npm run profile -- --scenario single|batch|consume|healthz [--seconds 6]
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseCommandLine, usageError } from "./lib/cli";
import { createSubjects, freshState, json, load, root, startLocalWorker, subjectsOnPlan } from "./lib/local-worker";

const USAGE = `Usage: npm run profile -- [--scenario single|batch|consume|healthz] [--seconds 6]

Starts the worker with wrangler dev on fresh local state, runs one of the benchmark's loads under
the V8 profiler (through wrangler dev's inspector), prints self time by function and by file, and
writes the profile to bench/results/profile-<scenario>.cpuprofile (open it in Chrome DevTools).

  --scenario S   single, batch, consume or healthz (default single)
  --seconds N    how long the load runs (default 6)
  -h, --help     this text

Example: npm run profile -- --scenario batch --seconds 10`;

const { values } = parseCommandLine(USAGE, {
  options: { scenario: { type: "string", default: "single" }, seconds: { type: "string", default: "6" } },
});
const seconds = Number(values.seconds);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds between consecutive samples. */
  timeDeltas: number[];
}

/** The same request shapes as the benchmark; `prepare` runs before the profiler starts. */
const scenarios: Record<string, { prepare(base: string): Promise<void>; run(base: string): ReturnType<typeof load> }> = {
  healthz: { prepare: async () => {}, run: (base) => load(() => fetch(`${base}/healthz`), { concurrency: 32, seconds }) },
  single: {
    prepare: async (base) => void (await createSubjects(base, "s", 1000)),
    run: (base) =>
      load(
        (i) =>
          fetch(`${base}/v1/usage`, {
            method: "POST",
            headers: json,
            body: JSON.stringify({ subjectId: `s-${i % 1000}`, meter: "api_call", idempotencyKey: `p-${i}` }),
          }),
        { concurrency: 32, seconds },
      ),
  },
  batch: {
    prepare: async (base) => {
      await fetch(`${base}/v1/meters/bench_batch`, { method: "PUT", headers: json, body: JSON.stringify({ unit: "call" }) });
      await createSubjects(base, "b", 1000);
    },
    run: (base) =>
      load(
        (b) =>
          fetch(`${base}/v1/usage/batch`, {
            method: "POST",
            headers: json,
            body: JSON.stringify({
              events: Array.from({ length: 1000 }, (_, i) => ({
                subjectId: `b-${(b * 10 + (i % 10)) % 1000}`,
                meter: "bench_batch",
                idempotencyKey: `pb${b}-${i}`,
              })),
            }),
          }),
        { concurrency: 8, seconds },
      ),
  },
  consume: {
    prepare: async (base) => {
      await subjectsOnPlan(base, "bench", { api_call: { limit: 1e9 } }, "c");
    },
    run: (base) =>
      load(
        (i) =>
          fetch(`${base}/v1/subjects/c-${i % 1000}/entitlements/api_call/consume`, {
            method: "POST",
            headers: json,
            body: JSON.stringify({ amount: 1, idempotencyKey: `pc-${i}` }),
          }),
        { concurrency: 200, seconds },
      ),
  },
};

/** A minimal DevTools protocol client: one socket, calls answered by id. */
async function inspector(port: number) {
  // wrangler's inspector proxy wants an allowed Origin; Node's WebSocket takes headers as an extension.
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: "http://127.0.0.1" } } as unknown as string[]);
  const waiting = new Map<number, (result: unknown) => void>();
  let next = 0;
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(String(message.data)) as { id?: number; result?: unknown };
    if (data.id !== undefined) waiting.get(data.id)?.(data.result);
  });
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve);
    socket.addEventListener("error", () => reject(new Error(`inspector on port ${port} refused the connection`)));
  });
  return {
    call: <T>(method: string, params: object = {}) =>
      new Promise<T>((resolve) => {
        const id = ++next;
        waiting.set(id, resolve as (result: unknown) => void);
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/**
 * Self time per function and per source file, largest first. V8 samples only while the isolate
 * runs: a gap far above the usual one is time spent elsewhere (D1, other isolates, C++), so each
 * sample stands for the usual gap, not for wall time divided by the sample count.
 */
function summarise(profile: Profile): string {
  const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
  const median = deltas[deltas.length >> 1] ?? 0;
  const usual = deltas.filter((d) => d <= 4 * median);
  const sampleMs = usual.reduce((sum, d) => sum + d, 0) / Math.max(usual.length, 1) / 1000;
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = (hits.get(node.id) ?? 0) * sampleMs;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url === "" ? `(${functionName || "native"})` : url.replace(/^.*\/\.wrangler\/tmp\/[^/]+\//, "bundle:");
    const name = `${functionName || "(anonymous)"}  ${file}${url === "" ? "" : `:${lineNumber + 1}`}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
    total += ms;
  }
  const table = (rows: Map<string, number>, top: number) =>
    [...rows]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${name}`)
      .join("\n");
  const share = ((100 * total) / wallMs).toFixed(0);
  return `wall ${wallMs.toFixed(0)} ms, in this isolate ${total.toFixed(0)} ms (${share} %; a sample every ${(sampleMs * 1000).toFixed(0)} µs)\n\nself time by function\n${table(byFunction, 30)}\n\nself time by file\n${table(byFile, 12)}`;
}

const scenario = Object.hasOwn(scenarios, values.scenario)
  ? scenarios[values.scenario]!
  : usageError(`--scenario must be one of ${Object.keys(scenarios).join(", ")}`);

async function main() {
  const worker = await startLocalWorker(freshState("tally-profile"), { inspector: true, logName: "wrangler-dev-profile" });
  try {
    await scenario.prepare(worker.base);
    const devtools = await inspector(worker.inspectorPort!);
    await devtools.call("Profiler.enable");
    await devtools.call("Profiler.setSamplingInterval", { interval: 200 });
    await devtools.call("Profiler.start");
    const result = await scenario.run(worker.base);
    const { profile } = await devtools.call<{ profile: Profile }>("Profiler.stop");
    devtools.close();
    const file = path.join(root, `bench/results/profile-${values.scenario}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(
      `${values.scenario}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, statuses ${JSON.stringify(result.statuses)}\n`,
    );
    console.log(summarise(profile));
    console.log(`\nprofile written to ${path.relative(root, file)} (open it in Chrome DevTools → Performance)`);
  } finally {
    worker.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
