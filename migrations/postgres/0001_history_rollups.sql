-- Rollups for summaries, as D1 keeps them (migrations/0006_summary_rollups.sql): quarter-hour slots
-- per meter (and per rollup dimension), and subject-days with the quarters of the UTC day that had
-- events (bits 0-47 in quarters_am, 48-95 in quarters_pm), so distinct subjects can be counted over
-- any run of quarters. The history writer keeps them in the transaction that inserts or voids the
-- events (src/db/postgres/history-rollups.ts), from the rows the statement really changed.
-- Dimension columns: '=' and the stored (escaped) value, or '' when the event has no such dimension.

CREATE TABLE IF NOT EXISTS usage_rollup_slots (
  slot bigint NOT NULL,
  meter text COLLATE "C" NOT NULL,
  total_e4 bigint NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (slot, meter)
);

CREATE TABLE IF NOT EXISTS usage_rollup_dimension_slots (
  slot bigint NOT NULL,
  meter text COLLATE "C" NOT NULL,
  school_id text COLLATE "C" NOT NULL,
  pantry_id text COLLATE "C" NOT NULL,
  item_type text COLLATE "C" NOT NULL,
  total_e4 bigint NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (slot, meter, school_id, pantry_id, item_type)
);

CREATE TABLE IF NOT EXISTS usage_rollup_subject_days (
  day bigint NOT NULL,
  meter text COLLATE "C" NOT NULL,
  subject_id text COLLATE "C" NOT NULL,
  total_e4 bigint NOT NULL,
  events bigint NOT NULL,
  quarters_am bigint NOT NULL,
  quarters_pm bigint NOT NULL,
  PRIMARY KEY (day, meter, subject_id)
);

CREATE TABLE IF NOT EXISTS usage_rollup_dimension_subject_days (
  day bigint NOT NULL,
  meter text COLLATE "C" NOT NULL,
  subject_id text COLLATE "C" NOT NULL,
  school_id text COLLATE "C" NOT NULL,
  pantry_id text COLLATE "C" NOT NULL,
  item_type text COLLATE "C" NOT NULL,
  total_e4 bigint NOT NULL,
  events bigint NOT NULL,
  quarters_am bigint NOT NULL,
  quarters_pm bigint NOT NULL,
  PRIMARY KEY (day, meter, subject_id, school_id, pantry_id, item_type)
);

-- Rebuilds every rollup from the standing events: for history written without the writer (this
-- migration, a bulk load). Exact whatever the rollups held before.
CREATE OR REPLACE FUNCTION tally_rebuild_rollups() RETURNS void LANGUAGE sql AS $$
  TRUNCATE usage_rollup_slots, usage_rollup_dimension_slots, usage_rollup_subject_days, usage_rollup_dimension_subject_days;
  INSERT INTO usage_rollup_slots
  SELECT occurred_at / 900000, meter, sum(CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END), count(*)
  FROM usage_events WHERE voided_at IS NULL GROUP BY 1, 2;
  INSERT INTO usage_rollup_dimension_slots
  SELECT occurred_at / 900000, meter, coalesce('=' || (dimensions ->> 'schoolId'), ''), coalesce('=' || (dimensions ->> 'pantryId'), ''),
         coalesce('=' || (dimensions ->> 'itemType'), ''), sum(CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END), count(*)
  FROM usage_events WHERE voided_at IS NULL GROUP BY 1, 2, 3, 4, 5;
  INSERT INTO usage_rollup_subject_days
  SELECT occurred_at / 86400000, meter, subject_id, sum(CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END), count(*),
         bit_or(CASE WHEN occurred_at % 86400000 / 900000 < 48 THEN 1::bigint << (occurred_at % 86400000 / 900000)::int ELSE 0 END),
         bit_or(CASE WHEN occurred_at % 86400000 / 900000 >= 48 THEN 1::bigint << (occurred_at % 86400000 / 900000 - 48)::int ELSE 0 END)
  FROM usage_events WHERE voided_at IS NULL GROUP BY 1, 2, 3;
  INSERT INTO usage_rollup_dimension_subject_days
  SELECT occurred_at / 86400000, meter, subject_id, coalesce('=' || (dimensions ->> 'schoolId'), ''), coalesce('=' || (dimensions ->> 'pantryId'), ''),
         coalesce('=' || (dimensions ->> 'itemType'), ''), sum(CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END), count(*),
         bit_or(CASE WHEN occurred_at % 86400000 / 900000 < 48 THEN 1::bigint << (occurred_at % 86400000 / 900000)::int ELSE 0 END),
         bit_or(CASE WHEN occurred_at % 86400000 / 900000 >= 48 THEN 1::bigint << (occurred_at % 86400000 / 900000 - 48)::int ELSE 0 END)
  FROM usage_events WHERE voided_at IS NULL GROUP BY 1, 2, 3, 4, 5, 6;
$$;

SELECT tally_rebuild_rollups();
