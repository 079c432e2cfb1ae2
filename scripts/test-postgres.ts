// `npm run test:postgres`: the history conformance suite against PostgreSQL. Uses TALLY_POSTGRES_URL's
// server or starts a local one (scripts/lib/local-postgres.ts), gives the run a fresh database, applies
// migrations/postgres, then runs vitest's workers-postgres project (vitest.config.ts).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { exitWithUsageIfAsked } from "./lib/cli";
import { localPostgres, migratePostgres } from "./lib/local-postgres";

exitWithUsageIfAsked(`Usage: npm run test:postgres [-- <vitest arguments>]

Runs the history conformance suite with HISTORY_BACKEND=postgres against a fresh database
"tally_conformance" on the PostgreSQL that TALLY_POSTGRES_URL names (any database in the URL;
the role must be able to create databases), or on a local cluster started from the installed
PostgreSQL binaries (Debian: apt-get install postgresql). Every other argument goes to vitest;
the report is written to test-results/vitest-postgres.json.

  -h, --help   this text

Example: npm run test:postgres -- test/routes/cursors.test.ts`);

const url = await localPostgres("tally_conformance", { fresh: true });
await migratePostgres(url);
const root = path.resolve(import.meta.dirname, "..");
const vitest = spawnSync(
  path.join(root, "node_modules/.bin/vitest"),
  ["run", "--project", "workers-postgres", "--outputFile.json=test-results/vitest-postgres.json", ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit", env: { ...process.env, TALLY_TEST_POSTGRES_URL: url } },
);
process.exit(vitest.status ?? 1);
