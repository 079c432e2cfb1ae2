CREATE TABLE `dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`queue` text NOT NULL,
	`message_id` text NOT NULL,
	`reason` text NOT NULL,
	`detail` text NOT NULL,
	`attempts` integer NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	`replayed_at` integer,
	`replay_status` text
);
--> statement-breakpoint
CREATE INDEX `idx_dead_letters_created` ON `dead_letters` (`created_at`);--> statement-breakpoint
CREATE INDEX `idx_dead_letters_message` ON `dead_letters` (`queue`,`message_id`);--> statement-breakpoint
CREATE TABLE `period_usage` (
	`subject_id` text NOT NULL,
	`meter` text NOT NULL,
	`period_start` integer NOT NULL,
	`period_end` integer NOT NULL,
	`total_e4` integer NOT NULL,
	`event_count` integer NOT NULL,
	`limit_e4` integer,
	`end_value_e4` integer,
	`peak_e4` integer,
	`closed_at` integer NOT NULL,
	`restated_at` integer,
	PRIMARY KEY(`subject_id`, `meter`, `period_start`)
);
--> statement-breakpoint
CREATE INDEX `idx_period_usage_meter_start` ON `period_usage` (`meter`,`period_start`);--> statement-breakpoint
CREATE INDEX `idx_period_usage_start` ON `period_usage` (`period_start`);--> statement-breakpoint
CREATE TABLE `reconciliation_runs` (
	`run_id` text PRIMARY KEY NOT NULL,
	`started_at` integer NOT NULL,
	`subjects_queued` integer DEFAULT 0 NOT NULL,
	`subjects_checked` integer DEFAULT 0 NOT NULL,
	`subjects_drifted` integer DEFAULT 0 NOT NULL,
	`counters_repaired` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `subject_activity` (
	`subject_id` text PRIMARY KEY NOT NULL,
	`last_event_at` integer NOT NULL
);
