// CPU time of wrangler dev's two workerd processes, read from /proc (Linux only).
//
// `wrangler dev` starts two workerd processes: the **runtime** (`--socket-addr=entry=127.0.0.1:0`),
// whose main thread runs the worker, every Durable Object, local D1, the queue broker and the local
// observability collector; and the **proxy** (`--socket-addr=entry=127.0.0.1:<port>`), which
// listens on the public port and forwards each request to the runtime. Neither exists as such on
// Cloudflare: the runtime's work is what a deployment pays for, the proxy's is local only. The load
// generator (this Node process) and the wrangler CLI are counted apart from both.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of utime/stime (`getconf CLK_TCK`, 100 on Linux). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface WorkerdProcesses {
  runtime: number;
  proxy: number | null;
}

/** Fields of a /proc stat line after `comm` (which may hold spaces): index 0 is field 3, `state`. */
function statFields(path: string): string[] | null {
  try {
    const line = readFileSync(path, "utf8");
    return line.slice(line.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** utime + stime (fields 14 and 15) in clock ticks; for /proc/<pid>/stat, of every thread the process ever had. */
export function ticks(path: string): number {
  const f = statFields(path);
  return f === null ? 0 : Number(f[11]) + Number(f[12]);
}

/** stime alone: kernel work on the process's behalf (for the runtime: mostly SQLite's WAL writes and fsync). */
function systemTicks(path: string): number {
  const f = statFields(path);
  return f === null ? 0 : Number(f[12]);
}

/** The machine's busy and steal ticks (all CPUs) from /proc/stat. */
function machineTicks(): { busy: number; steal: number } {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return { busy: user + nice + system + irq + softirq, steal };
  } catch {
    return { busy: 0, steal: 0 };
  }
}

/** The workerd processes below `rootPid` (the spawned wrangler), told apart by the address they listen on. */
export function findWorkerd(rootPid: number, port: number): WorkerdProcesses | null {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(`/proc/${entry}/stat`);
    if (f === null) continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const workerd: { pid: number; args: string }[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of children.get(pid) ?? []) {
      queue.push(child);
      try {
        if (readFileSync(`/proc/${child}/comm`, "utf8").trim() !== "workerd") continue;
        workerd.push({ pid: child, args: readFileSync(`/proc/${child}/cmdline`, "utf8").replaceAll("\0", " ") });
      } catch {
        // exited meanwhile
      }
    }
  }
  const proxy = workerd.find((w) => w.args.includes(`entry=127.0.0.1:${port} `));
  const runtime = workerd.find((w) => w !== proxy && w.args.includes("entry=127.0.0.1:0 ")) ?? workerd.find((w) => w !== proxy);
  return runtime === undefined ? null : { runtime: runtime.pid, proxy: proxy?.pid ?? null };
}

export interface CpuSample {
  /** performance.now() when taken. */
  at: number;
  /** Runtime process, every thread (ticks). */
  runtime: number;
  /** Runtime process, main thread only (ticks): the thread that runs worker, ledgers and D1. */
  runtimeMain: number;
  /** Runtime process, kernel time alone (ticks). */
  runtimeSystem: number;
  /** The whole machine (ticks, all CPUs). */
  machineBusy: number;
  machineSteal: number;
  proxy: number;
  /** This process (the load generator), µs. */
  loadGenerator: number;
}

export function sampleCpu(p: WorkerdProcesses): CpuSample {
  const usage = process.cpuUsage();
  const machine = machineTicks();
  return {
    at: performance.now(),
    runtime: ticks(`/proc/${p.runtime}/stat`),
    runtimeMain: ticks(`/proc/${p.runtime}/task/${p.runtime}/stat`),
    runtimeSystem: systemTicks(`/proc/${p.runtime}/stat`),
    machineBusy: machine.busy,
    machineSteal: machine.steal,
    proxy: p.proxy === null ? 0 : ticks(`/proc/${p.proxy}/stat`),
    loadGenerator: usage.user + usage.system,
  };
}

export interface CpuCost {
  units: number;
  unit: string;
  seconds: number;
  /** µs of CPU per unit: the runtime (all threads; main thread apart), wrangler's proxy, the load generator. */
  runtimeUs: number;
  runtimeMainUs: number;
  /** Of runtimeUs, in the kernel. */
  runtimeSystemUs: number;
  proxyUs: number;
  loadGeneratorUs: number;
  /** Share of one core the runtime used over the pass. */
  runtimeBusy: number;
  /**
   * Cores kept busy meanwhile by everything else on the machine (other processes, the wrangler
   * CLI, the kernel), and the hypervisor's steal: CPU per unit grows when the machine is shared.
   */
  othersBusyCores: number;
  stealCores: number;
}

export function cpuCost(before: CpuSample, after: CpuSample, units: number, unit: string): CpuCost {
  const us = (t: number) => (t * 1e6) / CLK_TCK;
  const per = (v: number) => (units > 0 ? v / units : Number.NaN);
  const seconds = (after.at - before.at) / 1000;
  return {
    units,
    unit,
    seconds,
    runtimeUs: per(us(after.runtime - before.runtime)),
    runtimeMainUs: per(us(after.runtimeMain - before.runtimeMain)),
    runtimeSystemUs: per(us(after.runtimeSystem - before.runtimeSystem)),
    proxyUs: per(us(after.proxy - before.proxy)),
    loadGeneratorUs: per(after.loadGenerator - before.loadGenerator),
    runtimeBusy: us(after.runtime - before.runtime) / 1e6 / seconds,
    othersBusyCores:
      (after.machineBusy -
        before.machineBusy -
        (after.runtime - before.runtime) -
        (after.proxy - before.proxy) -
        ((after.loadGenerator - before.loadGenerator) * CLK_TCK) / 1e6) /
      CLK_TCK /
      seconds,
    stealCores: (after.machineSteal - before.machineSteal) / CLK_TCK / seconds,
  };
}

/**
 * Waits until the runtime has been idle (below `busy` of a core) for two windows in a row: work
 * left over from the step before (alarms, flushes, queue batches) is not charged to the next pass.
 * Answers the seconds waited, or null if it never went quiet within `timeoutMs`.
 */
export async function waitForIdle(
  p: WorkerdProcesses,
  opts: { busy?: number; windowMs?: number; timeoutMs?: number } = {},
): Promise<number | null> {
  const { busy = 0.05, windowMs = 300, timeoutMs = 30_000 } = opts;
  const started = performance.now();
  let quiet = 0;
  let last = ticks(`/proc/${p.runtime}/stat`);
  while (performance.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = ticks(`/proc/${p.runtime}/stat`);
    quiet = (now - last) / CLK_TCK <= (busy * windowMs) / 1000 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 2) return (performance.now() - started) / 1000;
  }
  return null;
}

/** Peak resident memory (VmHWM, MB) of the given processes. */
export function peakMemoryMb(pids: number[]): number {
  let peak = 0;
  for (const pid of pids) {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) peak = Math.max(peak, Number(match[1]) / 1024);
    } catch {
      // exited
    }
  }
  return Math.round(peak);
}
