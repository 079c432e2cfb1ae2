// What the benchmark and the profiler share: the worker under `wrangler dev` on fresh local state,
// and a closed-loop load generator with bounded counts and durations.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export const root = path.resolve(import.meta.dirname, "../..");
export const wrangler = path.join(root, "node_modules/.bin/wrangler");
export const KEY = "bench-service-key";
export const auth = { authorization: `Bearer ${KEY}` };
export const json = { ...auth, "content-type": "application/json" };

export interface LocalWorker {
  base: string;
  server: ChildProcess;
  /** The dev server's inspector (Chrome DevTools protocol), when asked for. */
  inspectorPort: number | null;
  stop(): void;
  /** SIGKILLs the dev server (its whole process group when started `detached`) and waits until it is gone. */
  kill(): Promise<void>;
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

/** A fresh state directory with the D1 migrations applied; `prepare` may load data into it first. */
export function freshState(prefix: string): string {
  const state = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  execFileSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: root, stdio: "ignore" });
  return state;
}

/**
 * Starts `wrangler dev` over `state` on a free loopback port and waits until it answers. With
 * `detached`, the dev server runs in its own process group (wrangler, its workerd processes and the
 * dev proxy), so that `stop()` and `kill()` reach every process of it, as a crash would.
 */
export async function startLocalWorker(
  state: string,
  opts: { inspector?: boolean; logName: string; detached?: boolean; onSpawn?: (server: ChildProcess) => void },
): Promise<LocalWorker> {
  const port = await freePort();
  const inspectorPort = opts.inspector ? await freePort() : null;
  const server = spawn(
    wrangler,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
      "--log-level",
      "error",
      "--var",
      `SERVICE_API_KEY:${KEY}`,
      "--var",
      "JWT_SECRET:bench-jwt-secret",
      ...(inspectorPort === null ? [] : ["--inspector-port", String(inspectorPort)]),
    ],
    {
      cwd: root,
      detached: opts.detached === true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SERVICE_API_KEY: KEY, JWT_SECRET: "bench-jwt-secret", TELNYX_PUBLIC_KEY: "", NOTIFYRE_WEBHOOK_SECRET: "x" },
    },
  );
  opts.onSpawn?.(server);
  // The dev server's own output, for when a run goes wrong.
  mkdirSync(path.join(root, "bench/results"), { recursive: true });
  const log = createWriteStream(path.join(root, `bench/results/${opts.logName}.log`));
  server.stdout?.pipe(log);
  server.stderr?.pipe(log);
  const base = `http://127.0.0.1:${port}`;
  const signal = (sig: NodeJS.Signals) => (opts.detached ? signalGroup(server.pid, sig) : void server.kill(sig));
  const worker: LocalWorker = {
    base,
    server,
    inspectorPort,
    stop: () => signal("SIGTERM"),
    kill: async () => {
      signal("SIGKILL");
      if (opts.detached) await groupGone(server.pid);
    },
  };
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
  worker.stop();
  throw new Error(`wrangler dev did not answer on ${base}; see bench/results/${opts.logName}.log`);
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
