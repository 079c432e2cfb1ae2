import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const meters = sqliteTable(
  "meters",
  {
    key: text("key").primaryKey(),
    unit: text("unit").notNull(),
    kind: text("kind", { enum: ["counter", "gauge"] }).notNull(),
    description: text("description"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    /** Set while the meter is archived: no new usage, no new plan entitlements; history stays. */
    archivedAt: integer("archived_at"),
  },
  (t) => [check("meters_kind", sql`${t.kind} IN ('counter', 'gauge')`)],
);

/**
 * Usage history. Amounts are stored as integers in ten-thousandths (`amount_e4`) so that sums
 * are exact; the API speaks plain numbers with at most four decimals.
 * Times are UTC epoch milliseconds.
 */
export const usageEvents = sqliteTable(
  "usage_events",
  {
    id: text("id").primaryKey(),
    subjectId: text("subject_id").notNull(),
    meter: text("meter").notNull(),
    unit: text("unit").notNull(),
    amountE4: integer("amount_e4").notNull(),
    /** add for counters; gauges also remove and set. */
    operation: text("operation", { enum: ["add", "remove", "set"] })
      .notNull()
      .default("add"),
    occurredAt: integer("occurred_at").notNull(),
    receivedAt: integer("received_at").notNull(),
    source: text("source").notNull(),
    idempotencyKey: text("idempotency_key"),
    dimensions: text("dimensions").notNull().default("{}"),
    metadata: text("metadata").notNull().default("{}"),
    /** Set once when an operator voids the event (or amends it): the event stays, out of every total. */
    voidedAt: integer("voided_at"),
    voidReason: text("void_reason"),
    /** JSON `[{ grantId, amountE4 }]`: the prepaid grants the event drew past the period allowance; null when none. */
    grantDraws: text("grant_draws"),
    /**
     * The event's place in its subject's order (`StoredEvent.seq`, drawn by the subject's ledger): what
     * replays a subject's gauge moves in order. Null on rows written before it existed, all older than any with one.
     */
    subjectSeq: integer("subject_seq"),
    // Virtual columns over the dimensions the rollups keep (seed pantry logs): what the rollup triggers and filters read.
    dimSchoolId: text("dim_school_id").generatedAlwaysAs(sql`json_extract(dimensions, '$.schoolId')`, {
      mode: "virtual",
    }),
    dimPantryId: text("dim_pantry_id").generatedAlwaysAs(sql`json_extract(dimensions, '$.pantryId')`, {
      mode: "virtual",
    }),
    dimItemType: text("dim_item_type").generatedAlwaysAs(sql`json_extract(dimensions, '$.itemType')`, {
      mode: "virtual",
    }),
  },
  (t) => [
    check("usage_events_amount_nonnegative", sql`${t.amountE4} >= 0`),
    // Every index is a row written per event: a subject's history, a meter's, and time ranges.
    // Dimension summaries come from the rollups; see migrations/0013 and 0014.
    index("idx_usage_events_subject_time").on(t.subjectId, t.occurredAt, t.id),
    index("idx_usage_events_meter_time").on(t.meter, t.occurredAt, t.id),
    index("idx_usage_events_time").on(t.occurredAt, t.id),
  ],
);

/** Named sets of entitlements: `{ [meter]: { limit, period, enforcement, thresholds? } }` as JSON. */
export const plans = sqliteTable("plans", {
  id: text("id").primaryKey(),
  name: text("name"),
  entitlements: text("entitlements").notNull(),
  features: text("features").notNull().default("{}"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const subjects = sqliteTable(
  "subjects",
  {
    id: text("id").primaryKey(),
    planId: text("plan_id"),
    billingAnchorDay: integer("billing_anchor_day"),
    overrides: text("overrides").notNull().default("{}"),
    featureOverrides: text("feature_overrides").notNull().default("{}"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("idx_subjects_plan").on(t.planId)],
);

/** Notifications written by ledgers (thresholds, limits); delivered to endpoints by a later stage. */
export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    subjectId: text("subject_id").notNull(),
    type: text("type").notNull(),
    meter: text("meter"),
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("idx_notifications_subject_time").on(t.subjectId, t.createdAt), index("idx_notifications_time").on(t.createdAt)],
);

/** Fax registry: who a provider's fax belongs to and where it stands. */
export const faxes = sqliteTable(
  "faxes",
  {
    provider: text("provider", { enum: ["telnyx", "notifyre"] }).notNull(),
    faxId: text("fax_id").notNull(),
    subjectId: text("subject_id"),
    direction: text("direction"),
    status: text("status"),
    pageCount: integer("page_count"),
    failureReason: text("failure_reason"),
    /** occurred_at (epoch ms) of the event that set the status. */
    statusAt: integer("status_at"),
    /** The hold taken on the subject's ledger when the fax was registered with reservePages. */
    reservationId: text("reservation_id"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.faxId] }), index("idx_faxes_subject").on(t.subjectId)],
);

/** Every verified provider event, once. */
export const webhookReceipts = sqliteTable(
  "webhook_receipts",
  {
    provider: text("provider").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    faxId: text("fax_id"),
    direction: text("direction"),
    status: text("status"),
    pageCount: integer("page_count"),
    failureReason: text("failure_reason"),
    /** Why tally refused to bill the event (FAX_REFUSALS); the provider's own reason is failure_reason. */
    refusalReason: text("refusal_reason"),
    occurredAt: integer("occurred_at").notNull(),
    receivedAt: integer("received_at").notNull(),
    /** The subject this delivery named when its fax was already billed to another: kept, not billed. */
    attributionConflict: text("attribution_conflict"),
  },
  (t) => [primaryKey({ columns: [t.provider, t.eventId] }), index("idx_webhook_receipts_fax").on(t.provider, t.faxId)],
);

/**
 * Whom each provider fax is billed to, claimed once across all subjects before the subject's
 * ledger bills it: ledgers keep idempotency keys per subject, so only this claim stops deliveries
 * naming different subjects from billing one fax twice.
 */
export const faxBills = sqliteTable(
  "fax_bills",
  {
    provider: text("provider", { enum: ["telnyx", "notifyre"] }).notNull(),
    faxId: text("fax_id").notNull(),
    subjectId: text("subject_id").notNull(),
    pages: integer("pages").notNull(),
    /** The fax's hold the bill commits, taken from the registry when the bill was claimed; null: a plain record. */
    reservationId: text("reservation_id"),
    claimedAt: integer("claimed_at").notNull(),
    /** When the subject's ledger took the bill; null while a failed call waits for the provider's retry. */
    billedAt: integer("billed_at"),
  },
  (t) => [primaryKey({ columns: [t.provider, t.faxId] })],
);

/** Billable provider events whose subject is not known yet; billed when the fax is registered. */
export const unattributedEvents = sqliteTable(
  "unattributed_events",
  {
    provider: text("provider").notNull(),
    faxId: text("fax_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    pageCount: integer("page_count").notNull(),
    occurredAt: integer("occurred_at").notNull(),
    metadata: text("metadata").notNull(),
    parkedAt: integer("parked_at").notNull(),
    billedAt: integer("billed_at"),
    billedSubjectId: text("billed_subject_id"),
  },
  (t) => [primaryKey({ columns: [t.provider, t.faxId] }), index("idx_unattributed_open").on(t.billedAt, t.parkedAt)],
);

/** Closed periods per subject and meter (successor of the seed subscription_usage). Amounts in ten-thousandths. */
export const periodUsage = sqliteTable(
  "period_usage",
  {
    subjectId: text("subject_id").notNull(),
    meter: text("meter").notNull(),
    periodStart: integer("period_start").notNull(),
    periodEnd: integer("period_end").notNull(),
    totalE4: integer("total_e4").notNull(),
    eventCount: integer("event_count").notNull(),
    limitE4: integer("limit_e4"),
    endValueE4: integer("end_value_e4"),
    peakE4: integer("peak_e4"),
    closedAt: integer("closed_at").notNull(),
    restatedAt: integer("restated_at"),
  },
  (t) => [
    primaryKey({ columns: [t.subjectId, t.meter, t.periodStart] }),
    index("idx_period_usage_meter_start").on(t.meter, t.periodStart),
    index("idx_period_usage_start").on(t.periodStart),
  ],
);

/** Queue messages that could not be applied, with why; replayable. */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull(),
    reason: text("reason").notNull(),
    detail: text("detail").notNull(),
    attempts: integer("attempts").notNull(),
    body: text("body").notNull(),
    createdAt: integer("created_at").notNull(),
    replayedAt: integer("replayed_at"),
    replayStatus: text("replay_status"),
    /** Set when an operator dismissed it: kept for the record, no longer listed as open. */
    dismissedAt: integer("dismissed_at"),
  },
  (t) => [index("idx_dead_letters_created").on(t.createdAt), index("idx_dead_letters_message").on(t.queue, t.messageId)],
);

/** Every subject that has ever had usage, with its latest event: what cron jobs walk. */
export const subjectActivity = sqliteTable("subject_activity", {
  subjectId: text("subject_id").primaryKey(),
  lastEventAt: integer("last_event_at").notNull(),
});

/** One row per daily reconciliation run, summed up by the consumers that check each subject. */
export const reconciliationRuns = sqliteTable("reconciliation_runs", {
  runId: text("run_id").primaryKey(),
  startedAt: integer("started_at").notNull(),
  subjectsQueued: integer("subjects_queued").notNull().default(0),
  subjectsChecked: integer("subjects_checked").notNull().default(0),
  subjectsDrifted: integer("subjects_drifted").notNull().default(0),
  countersRepaired: integer("counters_repaired").notNull().default(0),
});

/** Outbound webhook subscriptions; the secret signs deliveries (Standard Webhooks). */
export const webhookEndpoints = sqliteTable("webhook_endpoints", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  events: text("events").notNull(),
  description: text("description"),
  secret: text("secret").notNull(),
  /** The secret before the last rotation: deliveries carry both signatures until it expires. */
  previousSecret: text("previous_secret"),
  previousSecretExpiresAt: integer("previous_secret_expires_at"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** One row per notification and endpoint: where its delivery stands. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id").notNull(),
    notificationId: text("notification_id").notNull(),
    eventType: text("event_type").notNull(),
    status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("idx_webhook_deliveries_endpoint").on(t.endpointId, t.createdAt)],
);

/**
 * Summary rollups (migrations/0006_summary_rollups.sql), kept by the `usage_events_rollups` trigger
 * and read by src/db/usage-rollups.ts. The migration creates them WITHOUT ROWID, which drizzle
 * cannot declare. Slots are quarter-hours (occurred_at / 900000), days UTC days (occurred_at /
 * 86400000); dimension columns hold json_quote(value).
 */
export const usageRollupSlots = sqliteTable(
  "usage_rollup_slots",
  {
    slot: integer("slot").notNull(),
    meter: text("meter").notNull(),
    totalE4: integer("total_e4").notNull(),
    events: integer("events").notNull(),
  },
  (t) => [primaryKey({ columns: [t.slot, t.meter] })],
);

export const usageRollupDimensionSlots = sqliteTable(
  "usage_rollup_dimension_slots",
  {
    slot: integer("slot").notNull(),
    meter: text("meter").notNull(),
    schoolId: text("school_id").notNull(),
    pantryId: text("pantry_id").notNull(),
    itemType: text("item_type").notNull(),
    totalE4: integer("total_e4").notNull(),
    events: integer("events").notNull(),
  },
  (t) => [primaryKey({ columns: [t.slot, t.meter, t.schoolId, t.pantryId, t.itemType] })],
);

/** Which quarters of the day had events: bits 0-47 in quarters_am, 48-95 in quarters_pm. */
export const usageRollupSubjectDays = sqliteTable(
  "usage_rollup_subject_days",
  {
    day: integer("day").notNull(),
    meter: text("meter").notNull(),
    subjectId: text("subject_id").notNull(),
    totalE4: integer("total_e4").notNull(),
    events: integer("events").notNull(),
    quartersAm: integer("quarters_am").notNull(),
    quartersPm: integer("quarters_pm").notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.meter, t.subjectId] })],
);

export const usageRollupDimensionSubjectDays = sqliteTable(
  "usage_rollup_dimension_subject_days",
  {
    day: integer("day").notNull(),
    meter: text("meter").notNull(),
    subjectId: text("subject_id").notNull(),
    schoolId: text("school_id").notNull(),
    pantryId: text("pantry_id").notNull(),
    itemType: text("item_type").notNull(),
    totalE4: integer("total_e4").notNull(),
    events: integer("events").notNull(),
    quartersAm: integer("quarters_am").notNull(),
    quartersPm: integer("quarters_pm").notNull(),
  },
  (t) => [primaryKey({ columns: [t.day, t.meter, t.subjectId, t.schoolId, t.pantryId, t.itemType] })],
);

/**
 * The archive's manifest: one row per UTC day whose counter events were copied to R2
 * (src/history/history-archiver.ts). `writing`: the object is being written, raw rows are the
 * truth; `verified`: the object matched the raw rows and the rollups, it serves the day and its
 * raw rows are being deleted; `deleted`: the day's counter events live only in the archive.
 * `object_key` is the attempt's key prefix; `parts` JSON `[{ key, events, first, last }]` lists its
 * objects in history order (bounded in size, so a reader decodes only the parts it needs);
 * `checksum` is JSON `{ [meter]: { events, standing, netE4 } }` of what they hold.
 */
export const historyArchiveDays = sqliteTable(
  "history_archive_days",
  {
    day: integer("day").primaryKey(),
    objectKey: text("object_key").notNull(),
    state: text("state", { enum: ["writing", "verified", "deleted"] }).notNull(),
    events: integer("events").notNull(),
    bytes: integer("bytes").notNull(),
    checksum: text("checksum").notNull(),
    parts: text("parts").notNull().default("[]"),
    startedAt: integer("started_at").notNull(),
    verifiedAt: integer("verified_at"),
    deletedAt: integer("deleted_at"),
    lastError: text("last_error"),
  },
  (t) => [check("history_archive_days_state", sql`${t.state} IN ('writing', 'verified', 'deleted')`)],
);

/** Scoped API keys. The secrets themselves are never stored: see `apiKeySecrets`. */
export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** JSON array of scopes. */
  scopes: text("scopes").notNull(),
  /** The visible start of the current secret (`tly_` and a few characters), to tell keys apart. */
  prefix: text("prefix").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at"),
  lastUsedAt: integer("last_used_at"),
  revokedAt: integer("revoked_at"),
});

/**
 * The SHA-256 of each secret a key has had. A roll adds the new one and gives the old one an
 * `expires_at` (the overlap); verification looks a bearer token up by its hash.
 */
export const apiKeySecrets = sqliteTable(
  "api_key_secrets",
  {
    hash: text("hash").primaryKey(),
    keyId: text("key_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
  },
  (t) => [index("idx_api_key_secrets_key").on(t.keyId)],
);

/**
 * Who changed what: one row per configuration write. `seq` orders the log (newest first when
 * read); `id` is given by the writer when a retried write must not be logged twice.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull().unique(),
    at: integer("at").notNull(),
    actorType: text("actor_type", { enum: ["root", "api_key"] }).notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id").notNull(),
    before: text("before"),
    after: text("after"),
    requestId: text("request_id"),
  },
  (t) => [
    index("idx_audit_log_target").on(t.targetType, t.targetId, t.seq),
    index("idx_audit_log_action").on(t.action, t.seq),
    index("idx_audit_log_actor").on(t.actorId, t.seq),
    index("idx_audit_log_at").on(t.at),
  ],
);

export type MeterRow = typeof meters.$inferSelect;
export type UsageEventRow = typeof usageEvents.$inferSelect;
export type PlanRow = typeof plans.$inferSelect;
export type SubjectRow = typeof subjects.$inferSelect;
