CREATE TABLE `fax_bills` (
	`provider` text NOT NULL,
	`fax_id` text NOT NULL,
	`subject_id` text NOT NULL,
	`pages` integer NOT NULL,
	`claimed_at` integer NOT NULL,
	`billed_at` integer,
	PRIMARY KEY(`provider`, `fax_id`)
);
--> statement-breakpoint
ALTER TABLE `webhook_receipts` ADD `attribution_conflict` text;--> statement-breakpoint
-- Faxes billed before the claim existed keep the subject billed first (history holds one bill per subject); voided bills claim nothing.
INSERT INTO `fax_bills` (`provider`, `fax_id`, `subject_id`, `pages`, `claimed_at`, `billed_at`)
SELECT substr(`source`, 9), substr(`idempotency_key`, length(`source`) - 6), `subject_id`, `amount_e4` / 10000, `received_at`, `received_at`
FROM `usage_events`
WHERE `source` IN ('webhook:telnyx', 'webhook:notifyre') AND `idempotency_key` LIKE substr(`source`, 9) || ':%' AND `voided_at` IS NULL
ORDER BY `received_at`, `id`
ON CONFLICT DO NOTHING;
