// A PostgreSQL for local development, tests and the bench: the one TALLY_POSTGRES_URL names, or a
// cluster of Debian's (or any) PostgreSQL binaries kept under .wrangler/postgres and started on demand.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import pg from "pg";

const root = path.resolve(import.meta.dirname, "../..");
const asRoot = process.getuid?.() === 0;
/**
 * PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to `postgres` and lives
 * where that user can reach it, one per checkout; otherwise in the checkout's .wrangler.
 */
const clusterDir = asRoot
  ? path.join("/var/tmp/tally-postgres", createHash("sha256").update(root).digest("hex").slice(0, 12))
  : path.join(root, ".wrangler/postgres");
/** Hyperdrive insists on a password, even for a local server that trusts loopback. */
const ROLE = { name: "tally", password: "tally" };

/** The connection string of a running local PostgreSQL with `database` created (and emptied first when `fresh`). */
export async function localPostgres(database: string, opts: { fresh?: boolean } = {}): Promise<string> {
  const given = process.env.TALLY_POSTGRES_URL;
  const server = given ?? (await startLocalCluster());
  const admin = new URL(server);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    if (opts.fresh) await client.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${ident(database)}`);
  } finally {
    await client.end();
  }
  const url = new URL(server);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Applies migrations/postgres/*.sql in name order, each once (recorded in tally_migrations). */
export async function migratePostgres(url: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const dir = path.join(root, "migrations/postgres");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query(
      "CREATE TABLE IF NOT EXISTS tally_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set((await client.query<{ name: string }>("SELECT name FROM tally_migrations")).rows.map((r) => r.name));
    for (const file of files.filter((f) => !done.has(f))) {
      await client.query("BEGIN");
      try {
        await client.query(readFileSync(path.join(dir, file), "utf8"));
        await client.query("INSERT INTO tally_migrations (name) VALUES ($1)", [file]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`${file}: ${String(error)}`);
      }
      applied.push(file);
      log(`applied ${file}`);
    }
  } finally {
    await client.end();
  }
  return applied;
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  return name;
}

/** Starts (creating on first use) the local cluster; answers its server URL. */
async function startLocalCluster(): Promise<string> {
  const bin = postgresBinaries();
  const data = path.join(clusterDir, "data");
  const portFile = path.join(clusterDir, "port");
  const run = (program: string, args: string[]) => {
    const command = asRoot ? ["runuser", "-u", "postgres", "--", path.join(bin, program), ...args] : [path.join(bin, program), ...args];
    return spawnSync(command[0]!, command.slice(1), { encoding: "utf8" });
  };
  if (!existsSync(path.join(data, "PG_VERSION"))) {
    mkdirSync(data, { recursive: true });
    if (asRoot) for (const dir of [clusterDir, data]) chownSync(dir, uid("postgres"), gid("postgres"));
    const passwordFile = path.join(clusterDir, "superuser-password");
    writeFileSync(passwordFile, ROLE.password);
    if (asRoot) chownSync(passwordFile, uid("postgres"), gid("postgres"));
    const init = run("initdb", ["-D", data, "-U", ROLE.name, "--pwfile", passwordFile, "-A", "trust", "-E", "UTF8", "--locale", "C"]);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  }
  // One port per cluster, kept while it is free: the first free one from 54329 unless TALLY_POSTGRES_PORT says.
  let port = Number(process.env.TALLY_POSTGRES_PORT ?? (existsSync(portFile) ? readFileSync(portFile, "utf8") : await freePortFrom(54329)));
  if (run("pg_ctl", ["-D", data, "status"]).status !== 0) {
    // Stopped, and another server (another checkout's cluster, say) may have taken its port since.
    if (!process.env.TALLY_POSTGRES_PORT) port = await freePortFrom(port);
    const log = path.join(clusterDir, "server.log");
    if (asRoot && !existsSync(log)) {
      writeFileSync(log, "");
      chownSync(log, uid("postgres"), gid("postgres"));
    }
    const start = run("pg_ctl", ["-D", data, "-l", log, "-w", "-o", `-p ${port} -c listen_addresses=127.0.0.1 -k ${data}`, "start"]);
    if (start.status !== 0) throw new Error(`PostgreSQL did not start: ${start.stderr || start.stdout}; see ${log}`);
  }
  writeFileSync(portFile, String(port));
  return `postgres://${ROLE.name}:${ROLE.password}@127.0.0.1:${port}/postgres`;
}

function freePortFrom(first: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", () => (first < 65535 ? freePortFrom(first + 1).then(resolve, reject) : reject(new Error("no free port"))));
    server.listen(first, "127.0.0.1", () => server.close(() => resolve(first)));
  });
}

/** The local cluster's server process and its backends (for their CPU time); empty when TALLY_POSTGRES_URL names the server. */
export function localClusterPids(): number[] {
  const pidFile = path.join(clusterDir, "data/postmaster.pid");
  if (process.env.TALLY_POSTGRES_URL || !existsSync(pidFile)) return [];
  const postmaster = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  const children = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // Fields after the command name (which may hold spaces); the parent's pid is the second.
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

/** Bytes of history in PostgreSQL: every partition of usage_events and the rollup tables, with their indexes and TOAST. */
export async function postgresHistoryBytes(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string }>(
      `SELECT (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = 'usage_events'::regclass)
            + (SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class WHERE relkind = 'r' AND relname LIKE 'usage\\_rollup\\_%') AS bytes`,
    );
    return Number(rows[0]!.bytes);
  } finally {
    await client.end();
  }
}

/** Stops the local cluster if this module started one (not one TALLY_POSTGRES_URL names). */
export function stopLocalCluster(): void {
  if (process.env.TALLY_POSTGRES_URL) return;
  const data = path.join(clusterDir, "data");
  if (!existsSync(path.join(data, "PG_VERSION"))) return;
  const args = [path.join(postgresBinaries(), "pg_ctl"), "-D", data, "-m", "fast", "stop"];
  const command = asRoot ? ["runuser", "-u", "postgres", "--", ...args] : args;
  spawnSync(command[0]!, command.slice(1), { stdio: "ignore" });
}

/** The directory of initdb and pg_ctl: pg_config's, else the newest Debian version's. */
function postgresBinaries(): string {
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    if (existsSync(path.join(dir, "initdb"))) return dir;
  } catch {
    // no pg_config on PATH
  }
  const debian = "/usr/lib/postgresql";
  const versions = existsSync(debian) ? readdirSync(debian).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = path.join(debian, version, "bin");
    if (existsSync(path.join(dir, "initdb"))) return dir;
  }
  throw new Error("PostgreSQL binaries not found: install PostgreSQL (Debian: apt-get install postgresql) or set TALLY_POSTGRES_URL");
}

function uid(user: string): number {
  return Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
}

function gid(user: string): number {
  return Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
}

/**
 * A wrangler config for history in PostgreSQL: wrangler.toml plus the Hyperdrive binding HISTORY_DB
 * pointed at `url`, written under .wrangler/postgres-worker (with a copy of .dev.vars, which wrangler reads
 * beside its config). Run it with `--var HISTORY_BACKEND:postgres` and its own `--persist-to`: local
 * D1 state whose history lived in D1 must not be read against a PostgreSQL that lacks it.
 */
export function postgresWranglerConfig(url: string): string {
  const dir = path.join(root, ".wrangler/postgres-worker");
  mkdirSync(dir, { recursive: true });
  const config = readFileSync(path.join(root, "wrangler.toml"), "utf8")
    .replace(/^main = "(.+)"$/m, (_, main: string) => `main = ${JSON.stringify(path.join(root, main))}`)
    .replace(/^migrations_dir = "(.+)"$/m, (_, dir: string) => `migrations_dir = ${JSON.stringify(path.join(root, dir))}`);
  const hyperdrive = `
# Added by scripts/lib/local-postgres.ts: history in the local PostgreSQL (npm run dev:postgres, the bench).
[[hyperdrive]]
binding = "HISTORY_DB"
id = "00000000000000000000000000000000"
localConnectionString = ${JSON.stringify(url)}
`;
  writeFileSync(path.join(dir, "wrangler.toml"), `# Generated from wrangler.toml; do not edit.\n${config}${hyperdrive}`);
  const devVars = path.join(root, ".dev.vars");
  if (existsSync(devVars)) writeFileSync(path.join(dir, ".dev.vars"), readFileSync(devVars));
  return path.join(dir, "wrangler.toml");
}
