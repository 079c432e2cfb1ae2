// `npm run db:migrate:postgres -- --url postgres://…`: applies migrations/postgres to the history database.
import { parseCommandLine } from "./lib/cli";
import { migratePostgres } from "./lib/local-postgres";

const USAGE = `Usage: npm run db:migrate:postgres -- --url <postgres connection string>

Applies migrations/postgres/*.sql that the database has not seen yet, each in a transaction,
recorded in its tally_migrations table. The URL may also come from TALLY_POSTGRES_URL. Use the
database's own connection string (not Hyperdrive's): migrations run from your machine or CI.

  --url URL    the PostgreSQL connection string (default: TALLY_POSTGRES_URL)
  -h, --help   this text

Example: npm run db:migrate:postgres -- --url postgres://tally:secret@localhost:5432/tally`;

const { values } = parseCommandLine(USAGE, { options: { url: { type: "string" } } });
const url = values.url ?? process.env.TALLY_POSTGRES_URL;
if (!url) {
  console.error(USAGE);
  process.exit(2);
}
const applied = await migratePostgres(url, (line) => console.log(line));
console.log(applied.length === 0 ? "PostgreSQL history schema is up to date." : `Applied ${applied.length} migration(s).`);
