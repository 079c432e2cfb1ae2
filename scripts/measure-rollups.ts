// Measures the two ways history's summary rollups can be kept (issue 15): the trigger on
// usage_events (one upsert per rollup table per event, migrations/0006) against aggregated upserts
// per written chunk (one upsert per group of the chunk, before the events are inserted, counting
// only events D1 does not hold yet). Runs the repository's migrations in node:sqlite on a temporary
// file, writes the same chunks both ways, checks both give the same rollups, and prints the rows
// the rollups wrote per event and the CPU per event.
//
//   npm run measure:rollups -- [--events 100000] [--subjects 500] [--chunk 1000]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseCommandLine } from "./lib/cli";

const USAGE = `Usage: npm run measure:rollups -- [--events N] [--subjects 500,10] [--chunk 1000]

Writes the same chunks of events into two node:sqlite copies of the D1 schema (a temporary
directory, removed afterwards): one keeping the summary rollups by trigger, one by aggregated
upserts per chunk. Prints the rollup rows written and the CPU per event for each, and whether both
kept the same rollups (exit 1 if not).

  --events N       events written each way (default 100000)
  --subjects L     comma-separated subject counts, one run each (default 500,10)
  --chunk N        events per chunk (default 1000)
  -h, --help       this text

Example: npm run measure:rollups -- --events 20000 --subjects 100`;

const { values: args } = parseCommandLine(USAGE, {
  options: {
    events: { type: "string", default: "100000" },
    subjects: { type: "string", default: "500,10" },
    chunk: { type: "string", default: "1000" },
  },
});
const EVENTS = Number(args.events);
const CHUNK = Number(args.chunk);
const SUBJECT_COUNTS = args.subjects.split(",").map(Number);

const { DatabaseSync } = await import("node:sqlite");
type Db = InstanceType<typeof DatabaseSync>;

const root = path.join(import.meta.dirname, "..");
const migrations = readdirSync(path.join(root, "migrations"))
  .filter((f) => f.endsWith(".sql"))
  .sort()
  .map((f) => readFileSync(path.join(root, "migrations", f), "utf8"));

function open(dir: string, name: string): Db {
  const db = new DatabaseSync(path.join(dir, `${name}.sqlite`));
  db.exec("PRAGMA journal_mode = WAL");
  for (const sql of migrations) for (const statement of sql.split("--> statement-breakpoint")) db.exec(statement);
  return db;
}

const INSERT = `INSERT INTO usage_events (id, subject_id, meter, unit, amount_e4, operation, occurred_at, received_at, source, idempotency_key, dimensions, metadata)
  SELECT value ->> 'id', value ->> 'subjectId', value ->> 'meter', 'unit', value ->> 'amountE4', 'add', value ->> 'occurredAt', value ->> 'occurredAt', 'batch', NULL,
         json(value -> 'dimensions'), '{}'
  FROM json_each(?1) WHERE true ON CONFLICT (id) DO NOTHING`;

/** The chunk's events D1 does not hold yet, once each, with what the rollups need. */
const FRESH = `WITH fresh AS MATERIALIZED (
    SELECT value ->> 'id' AS id, value ->> 'subjectId' AS subject_id, value ->> 'meter' AS meter, value ->> 'occurredAt' AS at,
           CASE value ->> 'operation' WHEN 'remove' THEN -(value ->> 'amountE4') WHEN 'set' THEN 0 ELSE value ->> 'amountE4' END AS net,
           json_quote(value -> 'dimensions' ->> 'schoolId') AS school_id, json_quote(value -> 'dimensions' ->> 'pantryId') AS pantry_id,
           json_quote(value -> 'dimensions' ->> 'itemType') AS item_type
    FROM json_each(?1) j WHERE NOT EXISTS (SELECT 1 FROM usage_events e WHERE e.id = j.value ->> 'id') GROUP BY 1)`;
const QUARTERS = `sum(DISTINCT CASE WHEN at % 86400000 / 900000 < 48 THEN 1 << (at % 86400000 / 900000) ELSE 0 END),
  sum(DISTINCT CASE WHEN at % 86400000 / 900000 >= 48 THEN 1 << (at % 86400000 / 900000 - 48) ELSE 0 END)`;
const MERGE = "ON CONFLICT DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, events = events + excluded.events";
const MERGE_QUARTERS = `${MERGE}, quarters_am = quarters_am | excluded.quarters_am, quarters_pm = quarters_pm | excluded.quarters_pm`;
const AGGREGATED = [
  `${FRESH} INSERT INTO usage_rollup_slots (slot, meter, total_e4, events)
     SELECT at / 900000, meter, sum(net), count(*) FROM fresh WHERE true GROUP BY 1, 2 ${MERGE}`,
  `${FRESH} INSERT INTO usage_rollup_dimension_slots (slot, meter, school_id, pantry_id, item_type, total_e4, events)
     SELECT at / 900000, meter, school_id, pantry_id, item_type, sum(net), count(*) FROM fresh WHERE true GROUP BY 1, 2, 3, 4, 5 ${MERGE}`,
  `${FRESH} INSERT INTO usage_rollup_subject_days (day, meter, subject_id, total_e4, events, quarters_am, quarters_pm)
     SELECT at / 86400000, meter, subject_id, sum(net), count(*), ${QUARTERS} FROM fresh WHERE true GROUP BY 1, 2, 3 ${MERGE_QUARTERS}`,
  `${FRESH} INSERT INTO usage_rollup_dimension_subject_days (day, meter, subject_id, school_id, pantry_id, item_type, total_e4, events, quarters_am, quarters_pm)
     SELECT at / 86400000, meter, subject_id, school_id, pantry_id, item_type, sum(net), count(*), ${QUARTERS}
     FROM fresh WHERE true GROUP BY 1, 2, 3, 4, 5, 6 ${MERGE_QUARTERS}`,
];

function chunks(subjects: number): string[] {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const start = Date.UTC(2026, 10, 1);
  const out: string[] = [];
  for (let c = 0; c < EVENTS / CHUNK; c += 1) {
    const events = Array.from({ length: CHUNK }, (_, i) => ({
      id: `evt_${c}_${i}_${Math.floor(random() * 1e9)}`,
      subjectId: `user-${Math.floor(random() * subjects)}`,
      meter: random() < 0.8 ? "api_call" : "fax",
      amountE4: 10_000 * (1 + Math.floor(random() * 3)),
      // A chunk is written within moments of its events: they fall in a few quarter-hours.
      occurredAt: start + c * 60_000 + Math.floor(random() * 600_000),
      dimensions: { schoolId: `s${Math.floor(random() * 20)}`, itemType: `t${Math.floor(random() * 5)}` },
    }));
    out.push(JSON.stringify(events));
  }
  return out;
}

function rollupRows(db: Db): number {
  const tables = ["usage_rollup_slots", "usage_rollup_dimension_slots", "usage_rollup_subject_days", "usage_rollup_dimension_subject_days"];
  return tables.reduce((n, t) => n + Number((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n), 0);
}

function rollupDigest(db: Db): string {
  return JSON.stringify(
    [
      "SELECT slot, meter, total_e4, events FROM usage_rollup_slots ORDER BY 1, 2",
      "SELECT * FROM usage_rollup_dimension_slots ORDER BY 1, 2, 3, 4, 5",
      "SELECT * FROM usage_rollup_subject_days ORDER BY 1, 2, 3",
      "SELECT * FROM usage_rollup_dimension_subject_days ORDER BY 1, 2, 3, 4, 5, 6",
    ].map((q) => db.prepare(q).all()),
  );
}

function run(db: Db, data: string[], aggregated: boolean): { rollupWritesPerEvent: number; cpuUsPerEvent: number } {
  if (aggregated) db.exec("DROP TRIGGER usage_events_rollups");
  const insert = db.prepare(INSERT);
  const rollups = AGGREGATED.map((q) => db.prepare(q));
  let rollupWrites = 0;
  const cpu = process.cpuUsage();
  for (const json of data) {
    db.exec("BEGIN");
    if (aggregated) for (const statement of rollups) rollupWrites += Number(statement.run(json).changes);
    const before = Number((db.prepare("SELECT total_changes() AS n").get() as { n: number }).n);
    const inserted = Number(insert.run(json).changes);
    const after = Number((db.prepare("SELECT total_changes() AS n").get() as { n: number }).n);
    // total_changes counts the trigger's upserts too; the insert's own rows are `inserted`.
    rollupWrites += after - before - inserted;
    db.exec("COMMIT");
  }
  const used = process.cpuUsage(cpu);
  return { rollupWritesPerEvent: rollupWrites / EVENTS, cpuUsPerEvent: (used.user + used.system) / EVENTS };
}

const dir = mkdtempSync(path.join(tmpdir(), "tally-rollups-"));
try {
  console.log(`${EVENTS} events in chunks of ${CHUNK}; rollup rows written per event and CPU per event (insert and rollups)`);
  for (const subjects of SUBJECT_COUNTS) {
    const data = chunks(subjects);
    const trigger = open(dir, `trigger-${subjects}`);
    const aggregated = open(dir, `aggregated-${subjects}`);
    const t = run(trigger, data, false);
    const a = run(aggregated, data, true);
    // Both again: a re-sent chunk adds nothing either way.
    run(trigger, data.slice(0, 3), false);
    const aggregatedAgain = aggregated.prepare(AGGREGATED[0]!);
    aggregatedAgain.run(data[0]!);
    const same = rollupDigest(trigger) === rollupDigest(aggregated);
    console.log(
      `${subjects} subjects: trigger ${t.rollupWritesPerEvent.toFixed(2)} rows, ${t.cpuUsPerEvent.toFixed(1)} µs; ` +
        `aggregated ${a.rollupWritesPerEvent.toFixed(2)} rows, ${a.cpuUsPerEvent.toFixed(1)} µs; ` +
        `rollup rows kept ${rollupRows(trigger)}; same rollups: ${same}`,
    );
    trigger.close();
    aggregated.close();
    if (!same) process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
