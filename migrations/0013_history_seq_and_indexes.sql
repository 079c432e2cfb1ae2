-- A leaner history (issue 15). Every index on usage_events is one more row written per event
-- (Cloudflare bills rows written) and D1's cost per row grows with each; with the rollup trigger an
-- event wrote 12 rows, it now writes 8. What stays serves the documented queries
-- (test/db/history-query-plans.test.ts): the primary key (one event, voids, a flush's conflicts),
-- (subject_id, occurred_at, id) for a subject's history, summaries and recalculation, and
-- (occurred_at, id) for time ranges and listing order. Summaries by meter or dimension read the
-- rollups; history filtered only by meter or dimension walks the time index (bound it with from/to).
--
-- subject_seq: the event's place in its subject's order, drawn by the subject's ledger, so gauge
-- moves replay in order however their rows were written; null on rows written before.
DROP INDEX `idx_usage_events_meter_time`;--> statement-breakpoint
DROP INDEX `idx_usage_events_school_time`;--> statement-breakpoint
DROP INDEX `idx_usage_events_pantry_time`;--> statement-breakpoint
DROP INDEX `idx_usage_events_item_type_time`;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `subject_seq` integer;