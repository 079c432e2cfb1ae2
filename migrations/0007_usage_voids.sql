ALTER TABLE `usage_events` ADD `voided_at` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `void_reason` text;--> statement-breakpoint
-- Voided events stay in history (an audit trail) and leave every rollup, so summaries exclude
-- them without reading events. A void only ever sets voided_at once (src/db/usage-events.ts).
-- A subject-day's quarter masks are recomputed from the day's remaining events: the sum of
-- distinct powers of two is their bitwise OR.
CREATE TRIGGER `usage_events_void_rollups` AFTER UPDATE OF `voided_at` ON `usage_events`
WHEN OLD.voided_at IS NULL AND NEW.voided_at IS NOT NULL BEGIN
	UPDATE usage_rollup_slots SET total_e4 = total_e4 - (CASE NEW.operation WHEN 'remove' THEN -NEW.amount_e4 WHEN 'set' THEN 0 ELSE NEW.amount_e4 END), events = events - 1
	WHERE slot = NEW.occurred_at / 900000 AND meter = NEW.meter;
	DELETE FROM usage_rollup_slots WHERE slot = NEW.occurred_at / 900000 AND meter = NEW.meter AND events <= 0;
	UPDATE usage_rollup_dimension_slots SET total_e4 = total_e4 - (CASE NEW.operation WHEN 'remove' THEN -NEW.amount_e4 WHEN 'set' THEN 0 ELSE NEW.amount_e4 END), events = events - 1
	WHERE slot = NEW.occurred_at / 900000 AND meter = NEW.meter AND school_id = json_quote(NEW.dim_school_id) AND pantry_id = json_quote(NEW.dim_pantry_id) AND item_type = json_quote(NEW.dim_item_type);
	DELETE FROM usage_rollup_dimension_slots WHERE slot = NEW.occurred_at / 900000 AND meter = NEW.meter AND school_id = json_quote(NEW.dim_school_id) AND pantry_id = json_quote(NEW.dim_pantry_id) AND item_type = json_quote(NEW.dim_item_type) AND events <= 0;
	UPDATE usage_rollup_subject_days SET
		total_e4 = total_e4 - (CASE NEW.operation WHEN 'remove' THEN -NEW.amount_e4 WHEN 'set' THEN 0 ELSE NEW.amount_e4 END),
		events = events - 1,
		quarters_am = (SELECT coalesce(sum(DISTINCT CASE WHEN e.occurred_at % 86400000 / 900000 < 48 THEN 1 << (e.occurred_at % 86400000 / 900000) END), 0)
			FROM usage_events e WHERE e.subject_id = NEW.subject_id AND e.occurred_at >= NEW.occurred_at / 86400000 * 86400000
			AND e.occurred_at < (NEW.occurred_at / 86400000 + 1) * 86400000 AND e.meter = NEW.meter AND e.voided_at IS NULL),
		quarters_pm = (SELECT coalesce(sum(DISTINCT CASE WHEN e.occurred_at % 86400000 / 900000 >= 48 THEN 1 << (e.occurred_at % 86400000 / 900000 - 48) END), 0)
			FROM usage_events e WHERE e.subject_id = NEW.subject_id AND e.occurred_at >= NEW.occurred_at / 86400000 * 86400000
			AND e.occurred_at < (NEW.occurred_at / 86400000 + 1) * 86400000 AND e.meter = NEW.meter AND e.voided_at IS NULL)
	WHERE day = NEW.occurred_at / 86400000 AND meter = NEW.meter AND subject_id = NEW.subject_id;
	DELETE FROM usage_rollup_subject_days WHERE day = NEW.occurred_at / 86400000 AND meter = NEW.meter AND subject_id = NEW.subject_id AND events <= 0;
	UPDATE usage_rollup_dimension_subject_days SET
		total_e4 = total_e4 - (CASE NEW.operation WHEN 'remove' THEN -NEW.amount_e4 WHEN 'set' THEN 0 ELSE NEW.amount_e4 END),
		events = events - 1,
		quarters_am = (SELECT coalesce(sum(DISTINCT CASE WHEN e.occurred_at % 86400000 / 900000 < 48 THEN 1 << (e.occurred_at % 86400000 / 900000) END), 0)
			FROM usage_events e WHERE e.subject_id = NEW.subject_id AND e.occurred_at >= NEW.occurred_at / 86400000 * 86400000
			AND e.occurred_at < (NEW.occurred_at / 86400000 + 1) * 86400000 AND e.meter = NEW.meter AND e.voided_at IS NULL
			AND e.dim_school_id IS NEW.dim_school_id AND e.dim_pantry_id IS NEW.dim_pantry_id AND e.dim_item_type IS NEW.dim_item_type),
		quarters_pm = (SELECT coalesce(sum(DISTINCT CASE WHEN e.occurred_at % 86400000 / 900000 >= 48 THEN 1 << (e.occurred_at % 86400000 / 900000 - 48) END), 0)
			FROM usage_events e WHERE e.subject_id = NEW.subject_id AND e.occurred_at >= NEW.occurred_at / 86400000 * 86400000
			AND e.occurred_at < (NEW.occurred_at / 86400000 + 1) * 86400000 AND e.meter = NEW.meter AND e.voided_at IS NULL
			AND e.dim_school_id IS NEW.dim_school_id AND e.dim_pantry_id IS NEW.dim_pantry_id AND e.dim_item_type IS NEW.dim_item_type)
	WHERE day = NEW.occurred_at / 86400000 AND meter = NEW.meter AND subject_id = NEW.subject_id
		AND school_id = json_quote(NEW.dim_school_id) AND pantry_id = json_quote(NEW.dim_pantry_id) AND item_type = json_quote(NEW.dim_item_type);
	DELETE FROM usage_rollup_dimension_subject_days WHERE day = NEW.occurred_at / 86400000 AND meter = NEW.meter AND subject_id = NEW.subject_id
		AND school_id = json_quote(NEW.dim_school_id) AND pantry_id = json_quote(NEW.dim_pantry_id) AND item_type = json_quote(NEW.dim_item_type) AND events <= 0;
END;
