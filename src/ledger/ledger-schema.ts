/** The ledger's SQLite tables. Each subject's Durable Object holds its own copy. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_created ON idempotency_keys (created_at);
CREATE TABLE IF NOT EXISTS counters (
  meter TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  total_e4 INTEGER NOT NULL DEFAULT 0,
  event_count INTEGER NOT NULL DEFAULT 0,
  peak_e4 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (meter, period_start)
);
CREATE TABLE IF NOT EXISTS gauges (meter TEXT PRIMARY KEY, level_e4 INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fired_thresholds (
  meter TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  threshold INTEGER NOT NULL,
  PRIMARY KEY (meter, period_start, threshold)
);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL);
`;

/** Schema changes after the first, applied once each, in order (DO SQLite has no user_version). */
const MIGRATIONS = [
  // v2: periods closed by the monthly rollover; a late event restates a closed period.
  "ALTER TABLE counters ADD COLUMN closed_at INTEGER",
];

/** Creates the tables and applies the migrations this ledger has not seen yet. */
export function migrateLedgerSchema(sql: SqlStorage): void {
  sql.exec(SCHEMA);
  const stored = sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = 'schema_version'").toArray()[0]?.value;
  for (const statement of MIGRATIONS.slice(Number(stored ?? "1") - 1)) sql.exec(statement);
  sql.exec(
    "INSERT INTO ledger_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    String(MIGRATIONS.length + 1),
  );
}
