-- The archive's manifest (issue 16, hot window + archive). Raw counter events of UTC days older
-- than HISTORY_HOT_DAYS move to R2 (binding HISTORY_ARCHIVE) as gzip NDJSON objects, a few per
-- day; each day is written, verified against the raw rows and the rollups, then its raw rows are
-- deleted (src/history/history-archiver.ts). Rollups are never deleted (there is no delete
-- trigger on usage_events), so summaries keep every archived day. One row per day:
-- state writing → verified (the objects serve the day) → deleted (raw rows gone).
CREATE TABLE `history_archive_days` (
	`day` integer PRIMARY KEY NOT NULL,
	`object_key` text NOT NULL,
	`state` text NOT NULL,
	`events` integer NOT NULL,
	`bytes` integer NOT NULL,
	`checksum` text NOT NULL,
	`parts` text DEFAULT '[]' NOT NULL,
	`started_at` integer NOT NULL,
	`verified_at` integer,
	`deleted_at` integer,
	`last_error` text,
	CONSTRAINT "history_archive_days_state" CHECK("history_archive_days"."state" IN ('writing', 'verified', 'deleted'))
);
