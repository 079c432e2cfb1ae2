CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`subject_id` text NOT NULL,
	`type` text NOT NULL,
	`meter` text,
	`payload` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idx_notifications_subject_time` ON `notifications` (`subject_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `idx_notifications_time` ON `notifications` (`created_at`);--> statement-breakpoint
CREATE TABLE `plans` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`entitlements` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `subjects` (
	`id` text PRIMARY KEY NOT NULL,
	`plan_id` text,
	`billing_anchor_day` integer,
	`overrides` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `idx_subjects_plan` ON `subjects` (`plan_id`);--> statement-breakpoint
ALTER TABLE `usage_events` ADD `operation` text DEFAULT 'add' NOT NULL;