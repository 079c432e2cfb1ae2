CREATE TABLE `meters` (
	`key` text PRIMARY KEY NOT NULL,
	`unit` text NOT NULL,
	`kind` text NOT NULL,
	`description` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "meters_kind" CHECK("meters"."kind" IN ('counter', 'gauge'))
);
--> statement-breakpoint
CREATE TABLE `usage_events` (
	`id` text PRIMARY KEY NOT NULL,
	`subject_id` text NOT NULL,
	`meter` text NOT NULL,
	`unit` text NOT NULL,
	`amount_e4` integer NOT NULL,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`source` text NOT NULL,
	`idempotency_key` text,
	`dimensions` text DEFAULT '{}' NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`dim_school_id` text GENERATED ALWAYS AS (json_extract(dimensions, '$.schoolId')) VIRTUAL,
	`dim_pantry_id` text GENERATED ALWAYS AS (json_extract(dimensions, '$.pantryId')) VIRTUAL,
	`dim_item_type` text GENERATED ALWAYS AS (json_extract(dimensions, '$.itemType')) VIRTUAL,
	CONSTRAINT "usage_events_amount_nonnegative" CHECK("usage_events"."amount_e4" >= 0)
);
--> statement-breakpoint
CREATE INDEX `idx_usage_events_subject_time` ON `usage_events` (`subject_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `idx_usage_events_meter_time` ON `usage_events` (`meter`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `idx_usage_events_time` ON `usage_events` (`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `idx_usage_events_school_time` ON `usage_events` (`dim_school_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `idx_usage_events_pantry_time` ON `usage_events` (`dim_pantry_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `idx_usage_events_item_type_time` ON `usage_events` (`dim_item_type`,`occurred_at`);