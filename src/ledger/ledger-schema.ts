/** Holds, prepaid grants with the draws events made on them, and balance.low marks (v4; never edit: add an upgrade). */
const V4_TABLES = `
CREATE TABLE reservations (
  id TEXT PRIMARY KEY,
  meter TEXT NOT NULL,
  unit TEXT NOT NULL,
  kind TEXT NOT NULL,
  amount_e4 INTEGER NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  resolved_at INTEGER,
  committed_amount_e4 INTEGER,
  event_id TEXT,
  event TEXT,
  idempotency_key TEXT UNIQUE,
  fingerprint TEXT NOT NULL,
  dimensions TEXT NOT NULL,
  metadata TEXT NOT NULL
);
CREATE INDEX idx_reservations_held ON reservations (status, meter, expires_at);
CREATE INDEX idx_reservations_created ON reservations (created_at, id);
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  meter TEXT NOT NULL,
  amount_e4 INTEGER NOT NULL,
  remaining_e4 INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  effective_at INTEGER NOT NULL,
  expires_at INTEGER,
  voided_at INTEGER,
  created_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  origin_key TEXT UNIQUE,
  idempotency_key TEXT,
  fingerprint TEXT NOT NULL,
  metadata TEXT NOT NULL
);
CREATE INDEX idx_grants_meter ON grants (meter, priority);
CREATE TABLE grant_draws (
  event_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  meter TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  amount_e4 INTEGER NOT NULL,
  PRIMARY KEY (event_id, grant_id)
);
CREATE INDEX idx_grant_draws_meter_time ON grant_draws (meter, occurred_at);
CREATE TABLE fired_balance_alerts (
  meter TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  threshold_e4 INTEGER NOT NULL,
  PRIMARY KEY (meter, period_start, threshold_e4)
);
`;

/**
 * The ledger's SQLite tables, as a new ledger creates them. Each subject's Durable Object holds
 * its own copy. Usage is kept per meter and UTC day (`usage_days`); periods are derived from the
 * configuration when asked, and the ones the rollover closed are kept in `closed_periods`.
 */
const SCHEMA = `
CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE usage_days (
  meter TEXT NOT NULL,
  day INTEGER NOT NULL,
  total_e4 INTEGER NOT NULL DEFAULT 0,
  event_count INTEGER NOT NULL DEFAULT 0,
  level_e4 INTEGER,
  peak_e4 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (meter, day)
) WITHOUT ROWID;
CREATE TABLE closed_periods (
  meter TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  total_e4 INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  limit_e4 INTEGER,
  end_value_e4 INTEGER,
  peak_e4 INTEGER,
  closed_at INTEGER NOT NULL,
  restated_at INTEGER,
  PRIMARY KEY (meter, period_start)
);
CREATE INDEX idx_closed_periods_end ON closed_periods (meter, period_end);
CREATE TABLE gauges (meter TEXT PRIMARY KEY, level_e4 INTEGER NOT NULL);
CREATE TABLE fired_thresholds (
  meter TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  limit_e4 INTEGER NOT NULL,
  threshold INTEGER NOT NULL,
  PRIMARY KEY (meter, period_start, limit_e4, threshold)
);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL, entries INTEGER);
CREATE TABLE voided_events (
  event_id TEXT PRIMARY KEY,
  meter TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  amount_e4 INTEGER NOT NULL,
  voided_at INTEGER NOT NULL,
  reason TEXT
);
${V4_TABLES}
`;

/**
 * Upgrades of ledgers created by earlier versions, from the version they are at (index 0 upgrades
 * version 1 to 2). Never edit an entry: add one. DO SQLite has no user_version, so the version is
 * kept in ledger_meta.
 */
const UPGRADES = [
  // v2: periods closed by the monthly rollover; a late event restates a closed period.
  "ALTER TABLE counters ADD COLUMN closed_at INTEGER",
  // v3: usage per meter and day instead of per configured period, so configuration changes never
  // re-key it. A v2 period counter becomes a day at its period's start, which keeps every total
  // under the configuration it was counted in; recalculation (the daily reconciliation) rebuilds
  // every day from history once (all-time totals were kept at day 0). Thresholds become keyed by the limit too.
  // Voided events are remembered, so a void is applied once.
  `CREATE TABLE usage_days (meter TEXT NOT NULL, day INTEGER NOT NULL, total_e4 INTEGER NOT NULL DEFAULT 0,
     event_count INTEGER NOT NULL DEFAULT 0, level_e4 INTEGER, peak_e4 INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (meter, day)) WITHOUT ROWID;
   CREATE TABLE closed_periods (meter TEXT NOT NULL, period_start INTEGER NOT NULL, period_end INTEGER NOT NULL, total_e4 INTEGER NOT NULL,
     event_count INTEGER NOT NULL, limit_e4 INTEGER, end_value_e4 INTEGER, peak_e4 INTEGER, closed_at INTEGER NOT NULL, restated_at INTEGER,
     PRIMARY KEY (meter, period_start));
   CREATE INDEX idx_closed_periods_end ON closed_periods (meter, period_end);
   CREATE TABLE voided_events (event_id TEXT PRIMARY KEY, meter TEXT NOT NULL, occurred_at INTEGER NOT NULL, amount_e4 INTEGER NOT NULL,
     voided_at INTEGER NOT NULL, reason TEXT);
   INSERT INTO usage_days (meter, day, total_e4, event_count, level_e4, peak_e4)
     SELECT c.meter, c.period_start / 86400000, CASE WHEN g.meter IS NULL THEN c.total_e4 ELSE 0 END, c.event_count,
            CASE WHEN g.meter IS NULL THEN NULL ELSE c.total_e4 END, c.peak_e4
     FROM counters c LEFT JOIN gauges g ON g.meter = c.meter WHERE true ON CONFLICT DO NOTHING;
   INSERT INTO closed_periods (meter, period_start, period_end, total_e4, event_count, limit_e4, end_value_e4, peak_e4, closed_at, restated_at)
     SELECT c.meter, c.period_start, c.period_end, c.total_e4, c.event_count,
            json_extract((SELECT value FROM ledger_meta WHERE key = 'config'), '$.entitlements."' || c.meter || '".limitE4'),
            CASE WHEN g.meter IS NULL THEN NULL ELSE c.total_e4 END, CASE WHEN g.meter IS NULL THEN NULL ELSE c.peak_e4 END, c.closed_at, NULL
     FROM counters c LEFT JOIN gauges g ON g.meter = c.meter WHERE c.closed_at IS NOT NULL;
   CREATE TABLE fired_thresholds_v3 (meter TEXT NOT NULL, period_start INTEGER NOT NULL, limit_e4 INTEGER NOT NULL, threshold INTEGER NOT NULL,
     PRIMARY KEY (meter, period_start, limit_e4, threshold));
   INSERT INTO fired_thresholds_v3 (meter, period_start, limit_e4, threshold)
     SELECT f.meter, f.period_start,
            coalesce(json_extract((SELECT value FROM ledger_meta WHERE key = 'config'), '$.entitlements."' || f.meter || '".limitE4'), -1),
            f.threshold
     FROM fired_thresholds f WHERE true ON CONFLICT DO NOTHING;
   DROP TABLE fired_thresholds;
   ALTER TABLE fired_thresholds_v3 RENAME TO fired_thresholds;
   INSERT INTO ledger_meta (key, value) SELECT 'rebuild_all_days', '1' WHERE EXISTS (SELECT 1 FROM counters);
   DROP TABLE counters;`,
  // v4: holds, prepaid grants with the draws events made on them, and balance.low marks.
  V4_TABLES,
  // v5: idempotency keys in one b-tree (no rowid, no created_at index): one row written per key.
  // New keys keep their event's id, not a copy of it; the copied rows keep theirs and still replay.
  `CREATE TABLE idempotency_keys_v5 (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL, created_at INTEGER NOT NULL)
     WITHOUT ROWID;
   INSERT INTO idempotency_keys_v5 (key, fingerprint, result, created_at) SELECT key, fingerprint, result, created_at FROM idempotency_keys;
   DROP TABLE idempotency_keys;
   ALTER TABLE idempotency_keys_v5 RENAME TO idempotency_keys;`,
  // v6: an outbox row may hold a call's entries of one kind as a JSON array (\`entries\` of them);
  // rows without a count are one entry each, as every row before.
  "ALTER TABLE outbox ADD COLUMN entries INTEGER",
];

export const LEDGER_SCHEMA_VERSION = UPGRADES.length + 1;

/** Creates the tables of a new ledger, or upgrades an existing one to the current version. */
export function migrateLedgerSchema(sql: SqlStorage): void {
  const existing =
    sql.exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'ledger_meta'").one().n > 0;
  if (!existing) sql.exec(SCHEMA);
  const stored = existing
    ? Number(sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = 'schema_version'").toArray()[0]?.value ?? "1")
    : LEDGER_SCHEMA_VERSION;
  if (stored === LEDGER_SCHEMA_VERSION && existing) return;
  for (const upgrade of UPGRADES.slice(stored - 1)) sql.exec(upgrade);
  sql.exec(
    "INSERT INTO ledger_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    String(LEDGER_SCHEMA_VERSION),
  );
}
