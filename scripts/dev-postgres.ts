// `npm run dev:postgres`: `npm run dev` with history in PostgreSQL. Starts (or uses, with
// TALLY_POSTGRES_URL) a local PostgreSQL, applies migrations/postgres to its database "tally",
// and serves the whole API under wrangler dev with HISTORY_BACKEND=postgres through a local
// Hyperdrive binding. Its D1 and Durable Object state is kept apart from `npm run dev`'s.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { exitWithUsageIfAsked } from "./lib/cli";
import { localPostgres, migratePostgres, postgresWranglerConfig, stopLocalCluster } from "./lib/local-postgres";

const root = path.resolve(import.meta.dirname, "..");
const wrangler = path.join(root, "node_modules/.bin/wrangler");
const state = path.join(root, ".wrangler/state-postgres");

exitWithUsageIfAsked(`Usage: npm run dev:postgres [-- <wrangler dev arguments>]

Serves tally on http://localhost:8787 like \`npm run dev\`, with history in PostgreSQL:
TALLY_POSTGRES_URL's server, or a local cluster (under .wrangler/postgres; /var/tmp/tally-postgres as root) started from the
installed PostgreSQL binaries (Debian: apt-get install postgresql; port TALLY_POSTGRES_PORT,
default 54329). Local D1 and ledger state live in .wrangler/state-postgres. A local cluster this
started is stopped when the server exits. Every other argument goes to wrangler dev.

  -h, --help   this text

Example: npm run dev:postgres -- --port 8788`);

spawnSync(process.execPath, [path.join(root, "scripts/prepare-dev.mjs")], { cwd: root, stdio: "inherit" });
const url = await localPostgres("tally");
await migratePostgres(url, (line) => console.log(`PostgreSQL: ${line}`));
const config = postgresWranglerConfig(url);
console.log(`History in PostgreSQL: ${url.replace(/:[^:@/]+@/, ":***@")}`);
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "-c", config, "--persist-to", state], {
  cwd: root,
  stdio: "inherit",
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);
const dev = spawn(
  wrangler,
  ["dev", "-c", config, "--persist-to", state, "--test-scheduled", "--var", "HISTORY_BACKEND:postgres", ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => {
  stopLocalCluster();
  process.exit(code ?? 0);
});
