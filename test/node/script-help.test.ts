import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Every script a user can run answers --help and -h with its usage, at once and without side effects;
 * the list comes from package.json and scripts/, so a new script without --help fails here.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
/** Files in scripts/ that are not commands (scripts/lib/ is a folder and not listed at all). */
const NOT_ENTRY = new Set(["drizzle.config.ts"]);

interface Invocation {
  /** "npm run seed", or the file for one no npm script runs. */
  name: string;
  /** Relative to the repository: "scripts/simulate.ts". */
  file: string;
  /** What the npm script passes before the user's arguments: ["--preset", "seed"]. */
  args: string[];
}

/** Each step of package.json's scripts that runs a file under scripts/ with tsx or node. */
function npmInvocations(): Invocation[] {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const found: Invocation[] = [];
  for (const [name, command] of Object.entries(scripts)) {
    for (const step of command.split("&&")) {
      const words = step.trim().split(/\s+/);
      const at = words.findIndex((word, i) => /^scripts\/[^/]+\.(ts|mjs)$/.test(word) && ["tsx", "node"].includes(words[i - 1] ?? ""));
      if (at !== -1) found.push({ name: `npm run ${name}`, file: words[at]!, args: words.slice(at + 1) });
    }
  }
  return found;
}

const entryFiles = readdirSync(path.join(ROOT, "scripts"))
  .filter((file) => /\.(ts|mjs)$/.test(file) && !NOT_ENTRY.has(file))
  .map((file) => `scripts/${file}`);
const fromNpm = npmInvocations();
const invocations: Invocation[] = [
  ...fromNpm,
  ...entryFiles
    .filter((file) => !fromNpm.some((i) => i.file === file && i.args.length === 0))
    .map((file) => ({ name: file, file, args: [] })),
];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/**
 * Runs a script as npm would (tsx for .ts, node for .mjs) in an empty directory of its own, in a
 * process group of its own so that a script that wrongly starts a server is stopped with its children.
 */
function run(file: string, args: string[], cwd: string): Promise<Run> {
  const command = file.endsWith(".ts") ? [TSX, path.join(ROOT, file)] : [path.join(ROOT, file)];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...command, ...args], {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      // A script that ignored --help and reached for PostgreSQL fails at once instead of starting a cluster.
      env: { ...process.env, TALLY_POSTGRES_URL: "postgres://tally:tally@127.0.0.1:1/none" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // the group ended meanwhile
      }
    }, 20_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
}

const STACK_TRACE = /^\s+at\s|\b[A-Z]\w*Error\b|node:internal/m;

/** The checkout's top level and what git sees in it, ignored files (.wrangler, .dev.vars, bench/results) included. */
const checkoutState = () =>
  `${readdirSync(ROOT).sort().join("\n")}\n${execFileSync("git", ["status", "--porcelain", "--ignored"], { cwd: ROOT, encoding: "utf8" })}`;
const before = checkoutState();
const cwds: string[] = [];
const emptyDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "tally-script-help-"));
  cwds.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of cwds) rmSync(dir, { recursive: true, force: true });
});

describe("every script's --help", () => {
  it("finds the scripts package.json runs and those it does not", () => {
    expect(fromNpm.map((i) => i.name)).toEqual(expect.arrayContaining(["npm run dev", "npm run seed", "npm run bench"]));
    for (const { file } of fromNpm) expect(entryFiles).toContain(file);
    expect(invocations.map((i) => i.name)).toEqual(expect.arrayContaining(["scripts/local-keys.mjs", "scripts/test-summary.mjs"]));
  });

  it.each(invocations.flatMap((i) => ["--help", "-h"].map((flag) => [`${i.name} ${flag}`, i, flag] as const)))(
    "%s prints its usage and exits 0 at once, touching nothing",
    async (_, { file, args }, flag) => {
      const cwd = emptyDir();
      const result = await run(file, [...args, flag], cwd);
      expect(result.timedOut).toBe(false);
      expect(result.stderr).not.toMatch(STACK_TRACE);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^Usage: /m);
      expect(result.stdout).toContain("Example");
      expect(result.ms).toBeLessThan(15_000);
      expect(readdirSync(cwd)).toEqual([]);
    },
  );

  it.each([["scripts/bench.ts"], ["scripts/simulate-capacity.ts"], ["scripts/send-webhook.mjs"], ["scripts/prepare-dev.mjs"]])(
    "%s answers an unknown option with one line on stderr and exit 2",
    async (file) => {
      const cwd = emptyDir();
      const result = await run(file, ["--no-such-option"], cwd);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr.trim()).not.toContain("\n");
      expect(result.stderr).toContain("--no-such-option");
      expect(result.stderr).toContain("see --help");
      expect(result.stderr).not.toMatch(STACK_TRACE);
      expect(readdirSync(cwd)).toEqual([]);
    },
  );

  it("left the checkout as it was (no .wrangler, .dev.vars or results written)", () => {
    expect(checkoutState()).toBe(before);
  });
});
