CREATE TABLE `faxes` (
	`provider` text NOT NULL,
	`fax_id` text NOT NULL,
	`subject_id` text,
	`direction` text,
	`status` text,
	`page_count` integer,
	`failure_reason` text,
	`status_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`provider`, `fax_id`)
);
--> statement-breakpoint
CREATE INDEX `idx_faxes_subject` ON `faxes` (`subject_id`);--> statement-breakpoint
CREATE TABLE `unattributed_events` (
	`provider` text NOT NULL,
	`fax_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`page_count` integer NOT NULL,
	`occurred_at` integer NOT NULL,
	`metadata` text NOT NULL,
	`parked_at` integer NOT NULL,
	`billed_at` integer,
	`billed_subject_id` text,
	PRIMARY KEY(`provider`, `fax_id`)
);
--> statement-breakpoint
CREATE INDEX `idx_unattributed_open` ON `unattributed_events` (`billed_at`,`parked_at`);--> statement-breakpoint
CREATE TABLE `webhook_receipts` (
	`provider` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`fax_id` text,
	`direction` text,
	`status` text,
	`page_count` integer,
	`failure_reason` text,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`provider`, `event_id`)
);
--> statement-breakpoint
CREATE INDEX `idx_webhook_receipts_fax` ON `webhook_receipts` (`provider`,`fax_id`);