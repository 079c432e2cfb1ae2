-- Rollups that let GET /v1/usage/summary answer without reading every event (src/db/usage-rollups.ts).
-- Kept by a trigger, so they count exactly the rows that usage_events accepts (a repeated flush
-- inserts nothing and adds nothing), whatever writes them. Events are never updated or deleted.
--
-- Slots are quarter-hours (occurred_at / 900000): every UTC offset in use is a multiple of 15
-- minutes, so local day/week/month buckets are whole slots. Subject days carry which quarters of
-- the UTC day had events (bits 0-47 in quarters_am, 48-95 in quarters_pm), so distinct subjects can
-- be counted over any run of quarters. Dimension columns hold json_quote(value): '"S1"', or 'null'
-- when the event has no such dimension (an empty string is a value, so it cannot mean absent).

CREATE TABLE `usage_rollup_slots` (
	`slot` integer NOT NULL,
	`meter` text NOT NULL,
	`total_e4` integer NOT NULL,
	`events` integer NOT NULL,
	PRIMARY KEY (`slot`, `meter`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `usage_rollup_dimension_slots` (
	`slot` integer NOT NULL,
	`meter` text NOT NULL,
	`school_id` text NOT NULL,
	`pantry_id` text NOT NULL,
	`item_type` text NOT NULL,
	`total_e4` integer NOT NULL,
	`events` integer NOT NULL,
	PRIMARY KEY (`slot`, `meter`, `school_id`, `pantry_id`, `item_type`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `usage_rollup_subject_days` (
	`day` integer NOT NULL,
	`meter` text NOT NULL,
	`subject_id` text NOT NULL,
	`total_e4` integer NOT NULL,
	`events` integer NOT NULL,
	`quarters_am` integer NOT NULL,
	`quarters_pm` integer NOT NULL,
	PRIMARY KEY (`day`, `meter`, `subject_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `usage_rollup_dimension_subject_days` (
	`day` integer NOT NULL,
	`meter` text NOT NULL,
	`subject_id` text NOT NULL,
	`school_id` text NOT NULL,
	`pantry_id` text NOT NULL,
	`item_type` text NOT NULL,
	`total_e4` integer NOT NULL,
	`events` integer NOT NULL,
	`quarters_am` integer NOT NULL,
	`quarters_pm` integer NOT NULL,
	PRIMARY KEY (`day`, `meter`, `subject_id`, `school_id`, `pantry_id`, `item_type`)
) WITHOUT ROWID;
--> statement-breakpoint
-- What one event adds to the rollups; the trigger below spells the same out on NEW, which is
-- cheaper than looking the row up again.
CREATE VIEW `usage_rollup_feed` AS
SELECT
	occurred_at / 900000 AS slot,
	occurred_at / 86400000 AS day,
	meter,
	subject_id,
	json_quote(dim_school_id) AS school_id,
	json_quote(dim_pantry_id) AS pantry_id,
	json_quote(dim_item_type) AS item_type,
	CASE operation WHEN 'remove' THEN -amount_e4 WHEN 'set' THEN 0 ELSE amount_e4 END AS net_e4,
	CASE WHEN occurred_at % 86400000 / 900000 < 48 THEN 1 << (occurred_at % 86400000 / 900000) ELSE 0 END AS quarters_am,
	CASE WHEN occurred_at % 86400000 / 900000 >= 48 THEN 1 << (occurred_at % 86400000 / 900000 - 48) ELSE 0 END AS quarters_pm,
	id
FROM usage_events;
--> statement-breakpoint
CREATE TRIGGER `usage_events_rollups` AFTER INSERT ON `usage_events` BEGIN
	INSERT INTO usage_rollup_slots (slot, meter, total_e4, events)
	VALUES (NEW.occurred_at / 900000, NEW.meter, CASE NEW.operation WHEN 'remove' THEN -NEW.amount_e4 WHEN 'set' THEN 0 ELSE NEW.amount_e4 END, 1)
	ON CONFLICT DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, events = events + 1;
	INSERT INTO usage_rollup_dimension_slots (slot, meter, school_id, pantry_id, item_type, total_e4, events)
	VALUES (NEW.occurred_at / 900000, NEW.meter, json_quote(NEW.dim_school_id), json_quote(NEW.dim_pantry_id), json_quote(NEW.dim_item_type), CASE NEW.operation WHEN 'remove' THEN -NEW.amount_e4 WHEN 'set' THEN 0 ELSE NEW.amount_e4 END, 1)
	ON CONFLICT DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, events = events + 1;
	INSERT INTO usage_rollup_subject_days (day, meter, subject_id, total_e4, events, quarters_am, quarters_pm)
	VALUES (NEW.occurred_at / 86400000, NEW.meter, NEW.subject_id, CASE NEW.operation WHEN 'remove' THEN -NEW.amount_e4 WHEN 'set' THEN 0 ELSE NEW.amount_e4 END, 1, CASE WHEN NEW.occurred_at % 86400000 / 900000 < 48 THEN 1 << (NEW.occurred_at % 86400000 / 900000) ELSE 0 END, CASE WHEN NEW.occurred_at % 86400000 / 900000 >= 48 THEN 1 << (NEW.occurred_at % 86400000 / 900000 - 48) ELSE 0 END)
	ON CONFLICT DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, events = events + 1,
		quarters_am = quarters_am | excluded.quarters_am, quarters_pm = quarters_pm | excluded.quarters_pm;
	INSERT INTO usage_rollup_dimension_subject_days (day, meter, subject_id, school_id, pantry_id, item_type, total_e4, events, quarters_am, quarters_pm)
	VALUES (NEW.occurred_at / 86400000, NEW.meter, NEW.subject_id, json_quote(NEW.dim_school_id), json_quote(NEW.dim_pantry_id), json_quote(NEW.dim_item_type), CASE NEW.operation WHEN 'remove' THEN -NEW.amount_e4 WHEN 'set' THEN 0 ELSE NEW.amount_e4 END, 1, CASE WHEN NEW.occurred_at % 86400000 / 900000 < 48 THEN 1 << (NEW.occurred_at % 86400000 / 900000) ELSE 0 END, CASE WHEN NEW.occurred_at % 86400000 / 900000 >= 48 THEN 1 << (NEW.occurred_at % 86400000 / 900000 - 48) ELSE 0 END)
	ON CONFLICT DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, events = events + 1,
		quarters_am = quarters_am | excluded.quarters_am, quarters_pm = quarters_pm | excluded.quarters_pm;
END;
--> statement-breakpoint
-- History written before this migration, folded in as the trigger would have.
INSERT INTO usage_rollup_slots (slot, meter, total_e4, events)
SELECT slot, meter, sum(net_e4), count(*) FROM usage_rollup_feed GROUP BY slot, meter;
--> statement-breakpoint
INSERT INTO usage_rollup_dimension_slots (slot, meter, school_id, pantry_id, item_type, total_e4, events)
SELECT slot, meter, school_id, pantry_id, item_type, sum(net_e4), count(*) FROM usage_rollup_feed GROUP BY slot, meter, school_id, pantry_id, item_type;
--> statement-breakpoint
INSERT INTO usage_rollup_subject_days (day, meter, subject_id, total_e4, events, quarters_am, quarters_pm)
SELECT day, meter, subject_id, net_e4, 1, quarters_am, quarters_pm FROM usage_rollup_feed WHERE true
ON CONFLICT DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, events = events + 1,
	quarters_am = quarters_am | excluded.quarters_am, quarters_pm = quarters_pm | excluded.quarters_pm;
--> statement-breakpoint
INSERT INTO usage_rollup_dimension_subject_days (day, meter, subject_id, school_id, pantry_id, item_type, total_e4, events, quarters_am, quarters_pm)
SELECT day, meter, subject_id, school_id, pantry_id, item_type, net_e4, 1, quarters_am, quarters_pm FROM usage_rollup_feed WHERE true
ON CONFLICT DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, events = events + 1,
	quarters_am = quarters_am | excluded.quarters_am, quarters_pm = quarters_pm | excluded.quarters_pm;
--> statement-breakpoint
DROP VIEW `usage_rollup_feed`;
