ALTER TABLE `plans` ADD `features` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `subjects` ADD `feature_overrides` text DEFAULT '{}' NOT NULL;