// What the benchmark and the profiler share: the worker under `wrangler dev` on fresh local state,
// and a closed-loop load generator with bounded counts and durations.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { findWorkerd, type WorkerdProcesses } from "./proc-cpu";

export const root = path.resolve(import.meta.dirname, "../..");
export const wrangler = path.join(root, "node_modules/.bin/wrangler");
export const KEY = "bench-service-key";
export const auth = { authorization: `Bearer ${KEY}` };
export const json = { ...auth, "content-type": "application/json" };

export interface LocalWorker {
  base: string;
  port: number;
  server: ChildProcess;
  /** The dev server's inspector (Chrome DevTools protocol), when asked for. */
  inspectorPort: number | null;
  /** Its two workerd processes: the runtime (worker, ledgers, D1) and wrangler's proxy in front. */
  processes(): WorkerdProcesses;
  /** Ends the dev server and everything it started (its process group); resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILLs the dev server's whole process group, as a crash would, and waits until it is gone. */
  kill(): Promise<void>;
}

export interface LocalWorkerOptions {
  inspector?: boolean;
  logName: string;
  /**
   * Local observability (wrangler's `X_LOCAL_OBSERVABILITY`, on by default in `wrangler dev`): a
   * trace span per request, RPC, statement and D1 call, recorded on the runtime thread. Off here
   * unless asked for: it roughly doubles CPU per request and does not exist on Cloudflare.
   */
  observability?: boolean;
  /** Extra worker vars (`--var NAME:value`). */
  vars?: Record<string, string>;
  /** Another wrangler config than wrangler.toml (history in PostgreSQL: scripts/lib/local-postgres.ts). */
  configPath?: string;
  /** wrangler's `--log-level`; the worker's console.log shows only at "log". Default "error". */
  logLevel?: "error" | "warn" | "log";
  /** Called with each line the dev server prints (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Called with the dev server's process as soon as it is spawned (the crash test keeps its group). */
  onSpawn?: (server: ChildProcess) => void;
  /** Kept for callers that ask for it: every dev server now runs in its own process group. */
  detached?: boolean;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `wrangler` arguments that run one SQL command on the local D1 database kept under `state`. */
export function d1ExecuteArgs(state: string, command: string, opts: { json?: boolean } = {}): string[] {
  return ["d1", "execute", "DB", "--local", "--persist-to", state, ...(opts.json ? ["--json"] : []), "--command", command];
}

/** A fresh state directory with the D1 migrations applied; `prepare` may load data into it first. */
export function freshState(prefix: string): string {
  const state = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  execFileSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: root, stdio: "ignore" });
  return state;
}

/**
 * Starts `wrangler dev` over `state` on a free loopback port and waits until it answers. The dev
 * server runs in its own process group (wrangler, its workerd processes and the dev proxy), so
 * that `stop()` and `kill()` reach every process of it.
 */
export async function startLocalWorker(state: string, opts: LocalWorkerOptions): Promise<LocalWorker> {
  const port = await freePort();
  const inspectorPort = opts.inspector ? await freePort() : null;
  const server = spawn(
    wrangler,
    [
      "dev",
      ...(opts.configPath ? ["-c", opts.configPath] : []),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
      "--log-level",
      opts.logLevel ?? "error",
      "--var",
      `SERVICE_API_KEY:${KEY}`,
      "--var",
      "JWT_SECRET:bench-jwt-secret",
      ...Object.entries(opts.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      ...(inspectorPort === null ? [] : ["--inspector-port", String(inspectorPort)]),
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so that stopping it also ends both workerd processes and esbuild.
      detached: true,
      env: {
        ...process.env,
        SERVICE_API_KEY: KEY,
        JWT_SECRET: "bench-jwt-secret",
        TELNYX_PUBLIC_KEY: "",
        NOTIFYRE_WEBHOOK_SECRET: "x",
        X_LOCAL_OBSERVABILITY: opts.observability ? "true" : "false",
      },
    },
  );
  opts.onSpawn?.(server);
  // The dev server's own output, for when a run goes wrong.
  mkdirSync(path.join(root, "bench/results"), { recursive: true });
  const log = createWriteStream(path.join(root, `bench/results/${opts.logName}.log`));
  server.stdout?.pipe(log);
  server.stderr?.pipe(log);
  if (opts.onLine) {
    for (const stream of [server.stdout, server.stderr]) if (stream) createInterface({ input: stream }).on("line", opts.onLine);
  }
  const base = `http://127.0.0.1:${port}`;
  let found: WorkerdProcesses | null = null;
  const worker: LocalWorker = {
    base,
    port,
    server,
    inspectorPort,
    processes() {
      // Looked up once the server answers; again if wrangler restarted a process meanwhile.
      if (found === null || !existsSync(`/proc/${found.runtime}`)) found = findWorkerd(server.pid!, port);
      if (found === null) throw new Error(`no workerd process found under wrangler dev (pid ${server.pid})`);
      return found;
    },
    stop: () => stopGroup(server),
    kill: async () => {
      signalGroup(server.pid, "SIGKILL");
      await groupGone(server.pid);
    },
  };
  running.add(server);
  server.once("exit", () => running.delete(server));
  for (let i = 0; i < 120; i++) {
    if (
      await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return worker;
    await new Promise((r) => setTimeout(r, 500));
  }
  await worker.stop();
  throw new Error(`wrangler dev did not answer on ${base}; see bench/results/${opts.logName}.log`);
}

/** Dev servers still running: stopped when this process ends, even by Ctrl-C (they are in groups of their own). */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const server of running) void stopGroup(server);
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    for (const server of running) void stopGroup(server);
    process.exit(130);
  });
}

function stopGroup(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-server.pid!, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const hard = setTimeout(() => signal("SIGKILL"), 5000);
  return exited.then(() => {
    clearTimeout(hard);
    // wrangler's children may outlive it by a moment
    signal("SIGTERM");
  });
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `make()` with `concurrency` callers for `seconds` (or `count` requests); answers rps and latency. */
export async function load(make: (i: number) => Promise<Response>, opts: { concurrency: number; seconds?: number; count?: number }) {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const deadline = Date.now() + (opts.seconds ?? 3600) * 1000;
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (Date.now() < deadline && (opts.count === undefined || issued < opts.count)) {
        const i = issued++;
        const t0 = performance.now();
        const res = await make(i);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    statuses,
    seconds,
  };
}

/** Gives `count` subjects named `<prefix>-N` their first event (one batch per 1,000); answers subjects/s. */
export async function createSubjects(base: string, prefix: string, count: number): Promise<number> {
  const started = performance.now();
  for (let at = 0; at < count; at += 1000) {
    const events = Array.from({ length: Math.min(1000, count - at) }, (_, i) => ({ subjectId: `${prefix}-${at + i}`, meter: "api_call" }));
    const res = await fetch(`${base}/v1/usage/batch`, { method: "POST", headers: json, body: JSON.stringify({ events }) });
    if (!res.ok) throw new Error(`creating subjects: ${res.status} ${await res.text()}`);
  }
  return count / ((performance.now() - started) / 1000);
}

/** Puts plan `planId` with `entitlements`, then `count` subjects named `<prefix>-N` on it (50 at a time). */
export async function subjectsOnPlan(base: string, planId: string, entitlements: Record<string, unknown>, prefix: string, count = 1000) {
  await fetch(`${base}/v1/plans/${planId}`, { method: "PUT", headers: json, body: JSON.stringify({ entitlements }) });
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, k) =>
        fetch(`${base}/v1/subjects/${prefix}-${i + k}`, { method: "PUT", headers: json, body: JSON.stringify({ planId }) }),
      ),
    );
  }
}

/** Sends `sig` to the process group `pgid` (a detached child's pid); a group already gone is fine. */
export function signalGroup(pgid: number | undefined, sig: NodeJS.Signals): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Live (not zombie) members of process group `pgid`, from /proc; null where /proc cannot tell. */
export function groupMembers(pgid: number): number[] | null {
  try {
    const members: number[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue; // gone meanwhile
      }
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") members.push(Number(entry));
    }
    return members;
  } catch {
    return null;
  }
}

/** Waits (up to `timeoutMs`) until no live process is left in group `pgid`. */
export async function groupGone(pgid: number | undefined, timeoutMs = 10_000): Promise<void> {
  if (pgid === undefined) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const members = groupMembers(pgid);
    if (members === null) {
      try {
        process.kill(-pgid, 0);
      } catch {
        return;
      }
    } else if (members.length === 0) return;
    if (Date.now() > deadline) throw new Error(`process group ${pgid} still has live processes: ${members?.join(", ") ?? "?"}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
