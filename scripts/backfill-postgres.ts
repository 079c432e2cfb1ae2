// `npm run backfill:postgres -- --url postgres://… [--remote]`: copies the D1 history (usage_events)
// into the PostgreSQL history, oldest first, in pages, then compares both per meter and UTC day.
// Safe to re-run and to stop at any point: PostgreSQL keeps the first copy of each event
// (ON CONFLICT DO NOTHING) and takes a void only once, so a second run copies what is new.
import { execFileSync } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { ensureEventPartitions, eventRow } from "../src/db/postgres/history-events";
import { insertEventsWithRollups, voidEventsWithRollups } from "../src/db/postgres/history-rollups";
import type { PgQuery } from "../src/db/postgres/query";
import { inTransaction } from "../src/db/postgres/query";
import { parseCommandLine } from "./lib/cli";

const USAGE = `Usage: npm run backfill:postgres -- --url <postgres connection string> [--remote | --persist-to <dir>] [--page 2000]

Reads the D1 database bound as DB (the local state of \`npm run dev\` by default, or the one under
--persist-to; --remote for the deployed one), through wrangler d1 execute, page by page in (occurred_at, id) order and writes each page to PostgreSQL in
one transaction. Then it prints the days and meters whose count or total differ between the two.
Run migrations first (npm run db:migrate:postgres).

  --url URL           the PostgreSQL connection string (default: TALLY_POSTGRES_URL)
  --remote            read the deployed D1 database (default: the local one)
  --persist-to DIR    the local D1 state's directory (default: wrangler's, that of \`npm run dev\`)
  --page N            events per page and transaction, 1–10000 (default 2000)
  -h, --help          this text

Example: npm run backfill:postgres -- --url postgres://tally:secret@localhost:5432/tally --remote`;

const { values } = parseCommandLine(USAGE, {
  options: {
    url: { type: "string" },
    remote: { type: "boolean", default: false },
    page: { type: "string", default: "2000" },
    "persist-to": { type: "string" },
  },
});
const url = values.url ?? process.env.TALLY_POSTGRES_URL;
const page = Number(values.page);
if (!url || !Number.isInteger(page) || page < 1 || page > 10_000) {
  console.error(USAGE);
  process.exit(2);
}

const root = path.resolve(import.meta.dirname, "..");
const wrangler = path.join(root, "node_modules/.bin/wrangler");

/** One SQL statement on D1 through wrangler (it binds no parameters: values are inlined, quoted). */
function d1<Row>(sql: string): Row[] {
  const where = values.remote ? ["--remote"] : ["--local", ...(values["persist-to"] ? ["--persist-to", values["persist-to"]] : [])];
  const out = execFileSync(wrangler, ["d1", "execute", "DB", ...where, "--json", "--command", sql], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return (JSON.parse(out) as { results: Row[] }[])[0]!.results;
}
const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

const client = new pg.Client({ connectionString: url });
await client.connect();
const query: PgQuery = async (text, params) => (await client.query(text, params)).rows;

interface D1Row {
  event: string;
  occurred_at: number;
  id: string;
  voided_at: number | null;
  void_reason: string | null;
}

let after: { at: number; id: string } | null = null;
let copied = 0;
for (;;) {
  const where: string = after ? `WHERE (occurred_at, id) > (${after.at}, ${quote(after.id)})` : "";
  const rows: D1Row[] = d1<D1Row>(
    `SELECT json_object('id', id, 'seq', subject_seq, 'subjectId', subject_id, 'meter', meter, 'unit', unit, 'amountE4', amount_e4,
       'operation', operation, 'occurredAt', occurred_at, 'receivedAt', received_at, 'source', source, 'idempotencyKey', idempotency_key,
       'dimensions', json(dimensions), 'metadata', json(metadata), 'grantDraws', json(grant_draws)) AS event,
       occurred_at, id, voided_at, void_reason
     FROM usage_events ${where} ORDER BY occurred_at, id LIMIT ${page}`,
  );
  if (rows.length === 0) break;
  const events = rows.map((r) => eventRow(withoutNulls(r.event)));
  const voids = rows
    .filter((r) => r.voided_at !== null)
    .map((r) => JSON.stringify({ id: r.id, voidedAt: r.voided_at, reason: r.void_reason }));
  await inTransaction(query, async () => {
    await ensureEventPartitions(query, events);
    await insertEventsWithRollups(query, events);
    if (voids.length > 0) await voidEventsWithRollups(query, voids);
  });
  copied += rows.length;
  const last: D1Row = rows[rows.length - 1]!;
  after = { at: last.occurred_at, id: last.id };
  process.stdout.write(`\rcopied ${copied} events (up to ${new Date(last.occurred_at).toISOString()})`);
}
console.log(`\ncopied ${copied} events`);

// The comparison: every (meter, UTC day) with its event count and total, voided events left out.
const perDay = "meter, occurred_at / 86400000 AS day, count(*) AS n, sum(amount_e4) AS total FROM usage_events WHERE voided_at IS NULL";
const inD1 = d1<{ meter: string; day: number; n: number; total: number }>(`SELECT ${perDay} GROUP BY 1, 2`);
const inPostgres = await query<{ meter: string; day: string; n: string; total: string }>(`SELECT ${perDay} GROUP BY 1, 2`);
const key = (meter: string, day: number | string) => `${meter} ${new Date(Number(day) * 86_400_000).toISOString().slice(0, 10)}`;
const expected = new Map(inD1.map((r) => [key(r.meter, r.day), `${r.n} events, total ${r.total}`]));
const actual = new Map(inPostgres.map((r) => [key(r.meter, r.day), `${r.n} events, total ${r.total}`]));
const differences = [...new Set([...expected.keys(), ...actual.keys()])].filter((k) => expected.get(k) !== actual.get(k)).sort();
for (const k of differences) console.log(`differs: ${k}: D1 ${expected.get(k) ?? "none"}, PostgreSQL ${actual.get(k) ?? "none"}`);
console.log(
  differences.length === 0 ? `PostgreSQL matches D1 on all ${expected.size} meter-days.` : `${differences.length} meter-days differ.`,
);
await client.end();
process.exit(differences.length === 0 ? 0 : 1);

/** D1's json_object writes SQL NULLs as JSON nulls; the ledgers leave those fields out. */
function withoutNulls(json: string): string {
  const event = JSON.parse(json) as Record<string, unknown>;
  for (const field of ["seq", "grantDraws"]) if (event[field] === null) delete event[field];
  return JSON.stringify(event);
}
