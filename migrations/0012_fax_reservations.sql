ALTER TABLE `fax_bills` ADD `reservation_id` text;--> statement-breakpoint
ALTER TABLE `faxes` ADD `reservation_id` text;