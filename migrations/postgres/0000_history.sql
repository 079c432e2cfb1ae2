-- History in PostgreSQL (HISTORY_BACKEND=postgres, reached through the Hyperdrive binding HISTORY_DB).
-- Applied in file order by `npm run db:migrate:postgres`, which records each file in tally_migrations.
-- Only raw history lives here: control data (plans, subjects, closed periods, notifications,
-- webhook endpoints) stays in D1 whatever the backend.
--
-- Text columns compared or ordered use the "C" collation: byte order of UTF-8, which is code point
-- order, as in SQLite; cursors and group order are then the same on both backends.

CREATE TABLE IF NOT EXISTS usage_events (
  id text COLLATE "C" NOT NULL,
  subject_id text COLLATE "C" NOT NULL,
  meter text COLLATE "C" NOT NULL,
  amount_e4 bigint NOT NULL,
  operation text NOT NULL,
  occurred_at bigint NOT NULL,
  received_at bigint NOT NULL,
  -- The event's dimensions, for filters and groups. PostgreSQL text, and so jsonb, cannot hold
  -- U+0000, which a dimension value may contain: values are stored escaped, "\" as "\\" and
  -- U+0000 as "\0" (src/db/postgres/history-events.ts), which keeps equal values equal.
  dimensions jsonb NOT NULL,
  -- The whole event as its ledger sent it, JSON with U+0000 escaped; only ever parsed by the worker.
  event text NOT NULL,
  subject_seq bigint,
  voided_at bigint,
  -- The reason as a JSON string, for the same reason.
  void_reason text,
  -- A partitioned table's unique keys must hold its partition column. An event's time never
  -- changes (an amend is a new event), so (id, occurred_at) is as unique as the id alone.
  PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

-- Rows of a month with no partition yet land here rather than fail; tally_ensure_month_partitions
-- creates a month's partition before its first events are written.
CREATE TABLE IF NOT EXISTS usage_events_default PARTITION OF usage_events DEFAULT;

CREATE INDEX IF NOT EXISTS usage_events_subject_time ON usage_events (subject_id, occurred_at, id);
CREATE INDEX IF NOT EXISTS usage_events_meter_time ON usage_events (meter, occurred_at, id);
CREATE INDEX IF NOT EXISTS usage_events_time ON usage_events (occurred_at, id);

-- Creates the monthly partitions (UTC) covering [from_ms, to_ms], each once; concurrent callers and
-- months whose rows already sit in the default partition are skipped, never an error.
CREATE OR REPLACE FUNCTION tally_ensure_month_partitions(from_ms bigint, to_ms bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  month timestamptz := date_trunc('month', to_timestamp(from_ms / 1000.0) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  created integer := 0;
  name text;
BEGIN
  WHILE month <= to_timestamp(to_ms / 1000.0) LOOP
    name := 'usage_events_' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM');
    IF to_regclass(name) IS NULL THEN
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF usage_events FOR VALUES FROM (%s) TO (%s)', name,
          (extract(epoch FROM month) * 1000)::bigint, (extract(epoch FROM month + interval '1 month') * 1000)::bigint);
        created := created + 1;
      EXCEPTION WHEN duplicate_table OR check_violation OR invalid_object_definition THEN
        NULL;
      END;
    END IF;
    month := month + interval '1 month';
  END LOOP;
  RETURN created;
END $$;

CREATE TABLE IF NOT EXISTS tally_migrations (
  name text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
