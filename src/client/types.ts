/**
 * Request and response types of tally's API, written out so that the client ships without the
 * server. test/client/types-match.ts holds them to the server's zod schemas: drift fails the typecheck.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Every list answers `{ data }`; paginated ones add `nextCursor`, null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageQuery {
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

// Usage events

export interface UsageEvent {
  id: string;
  subjectId: string;
  meter: string;
  unit: string;
  amount: number;
  timestamp: string;
  receivedAt: string;
  source: string;
  idempotencyKey: string | null;
  dimensions: Record<string, string>;
  metadata: Record<string, unknown>;
  /** When the event was voided or amended; null while it counts. */
  voidedAt: string | null;
  voidReason: string | null;
  /** The grants the event drew on past the period allowance, in draw order. */
  grantDraws: { grantId: string; amount: number }[];
}

export interface CanonicalUsageEventInput {
  idempotencyKey?: string;
  subjectId: string;
  meter: string;
  /** Default 1; at most 4 decimal places. */
  amount?: number;
  unit?: string;
  /** ISO-8601; default now. */
  timestamp?: string;
  dimensions?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

/** Seed `recordUsage({ userId, type, unitType, usageAmount, timestamp, metadata })`. */
export interface SeedRecordUsageInput {
  userId: string | number;
  type: string;
  unitType?: string;
  usageAmount: number | string;
  timestamp?: string;
  metadata?: Record<string, unknown>;
}

/** Seed usage-event queue message. */
export interface SeedUsageMessageInput {
  userId: string | number;
  entitlementKey: string;
  amount?: number | string;
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
}

/** Seed pantry log row: the pantry is the subject, LogID the idempotency key. */
export interface SeedPantryLogInput {
  LogID: string | number;
  PantryID: string | number;
  SchoolID?: string | number;
  DateTimeOfUse: string;
  NumberOfItemsTaken: number | string;
  ItemType?: string;
  UserID?: string | number;
}

export type UsageEventInput = CanonicalUsageEventInput | SeedRecordUsageInput | SeedUsageMessageInput | SeedPantryLogInput;

export interface Recorded {
  event: UsageEvent;
  status: "created" | "duplicate";
}

export interface BatchItemResult {
  index: number;
  id: string | null;
  status: "created" | "duplicate" | "rejected";
  error?: { code: string; message: string };
}

export interface BatchResult {
  results: BatchItemResult[];
}

export interface Enqueued {
  enqueued: number;
}

export type HistoryPage = Page<UsageEvent>;

export interface HistoryFilter {
  subjectId?: string;
  meter?: string;
  /** Inclusive lower bound on the event time (ISO-8601). */
  from?: string;
  /** Exclusive upper bound. */
  to?: string;
  /** Sent as `dimension.<name>=<value>`. */
  dimensions?: Record<string, string>;
  /** Voided events are left out unless this is true. */
  includeVoided?: boolean;
}

export interface HistoryQuery extends HistoryFilter, PageQuery {}

export interface ExportQuery extends HistoryFilter {
  /** Dimension names to give their own CSV column. */
  dimensionColumns?: string[];
}

export interface SummaryQuery extends HistoryFilter {
  /** At most one time bucket (`hour` … `quarter`). */
  groupBy: ("meter" | "subjectId" | "hour" | "day" | "week" | "month" | "quarter" | `dimension.${string}`)[];
  /** IANA time zone the time buckets are cut in (default UTC). */
  tz?: string;
  /** Each row gains `distinct`: how many distinct values of this dimension its events have. */
  distinct?: `dimension.${string}`;
  /** Each row gains `previousTotal`: its group's total over the same-length range just before. */
  compare?: "previous";
  /** By `total`, ascending or (`-total`) descending; rows otherwise come in group-key order. */
  sort?: "total" | "-total";
  /** Keep the first rows (1–1000). */
  limit?: number;
}

/**
 * One row per group: each groupBy key under its own name, plus `total`, `count` and `subjects`;
 * `distinct` and `previousTotal` when asked for.
 */
export type SummaryRow = Record<string, string | number | null>;

export interface UsageSummary {
  data: SummaryRow[];
  from: string | null;
  to: string | null;
  tz: string;
}

export interface Voided {
  event: UsageEvent;
  status: "voided" | "already_voided";
}

/** The fields to correct (at least one), laid over the original. */
export interface AmendRequest {
  meter?: string;
  amount?: number;
  unit?: string;
  timestamp?: string;
  dimensions?: Record<string, string>;
  metadata?: Record<string, unknown>;
  reason?: string;
}

export interface Amended {
  voided: UsageEvent;
  event: UsageEvent;
  status: "created" | "duplicate";
}

// Entitlements, gauges, holds and grants

export type MeterKind = "counter" | "gauge";
export type PeriodKind = "month" | "day" | "none";
export type Enforcement = "hard" | "soft";

export interface EntitlementRow {
  meter: string;
  kind: MeterKind;
  used: number;
  /** Reserved by holds still held. */
  held: number;
  /** What grants give the current window. */
  granted: number;
  limit: number | null;
  /** limit − used − held + granted, never below 0; null when unlimited. */
  remaining: number | null;
  enforcement: Enforcement | null;
  period: PeriodKind;
  periodStart: string | null;
  periodEnd: string | null;
}

export interface Decision {
  allowed: boolean;
  used: number;
  held: number;
  granted: number;
  limit: number | null;
  remaining: number | null;
  overage: boolean;
}

export interface ConsumeRequest {
  /** Default 1. */
  amount?: number;
  idempotencyKey?: string;
  dimensions?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

export interface Consumed extends Decision {
  status: "created" | "duplicate";
  event: UsageEvent;
}

export interface GaugeMoved {
  entitlement: EntitlementRow;
  status: "created" | "duplicate";
}

export type ReservationStatus = "held" | "committed" | "released" | "expired";

export interface Reservation {
  id: string;
  subjectId: string;
  meter: string;
  unit: string;
  amount: number;
  status: ReservationStatus;
  createdAt: string;
  expiresAt: string;
  resolvedAt: string | null;
  committedAmount: number | null;
  eventId: string | null;
  idempotencyKey: string | null;
  dimensions: Record<string, string>;
  metadata: Record<string, unknown>;
}

export interface ReserveRequest {
  amount: number;
  /** 1–86400, default 900. */
  ttlSeconds?: number;
  idempotencyKey?: string;
  dimensions?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

export interface Reserved {
  reservation: Reservation;
  status: "created" | "duplicate";
  allowed: true;
  used: number;
  held: number;
  granted: number;
  limit: number | null;
  remaining: number | null;
}

export interface CommittedReservation {
  reservation: Reservation;
  /** Null when 0 was committed. */
  event: UsageEvent | null;
  status: "committed" | "already_committed";
  /** The commit went past a hard limit (recorded anyway). */
  overage: boolean;
}

export interface ReleasedReservation {
  reservation: Reservation;
  status: "released" | "already_released";
}

export type ReservationPage = Page<Reservation>;

export interface ReservationQuery extends PageQuery {
  status?: ReservationStatus;
}

export type GrantStatus = "active" | "scheduled" | "expired" | "depleted" | "voided";

export interface Grant {
  id: string;
  subjectId: string;
  meter: string;
  amount: number;
  remaining: number;
  /** Lower is drawn first. */
  priority: number;
  effectiveAt: string;
  expiresAt: string | null;
  voidedAt: string | null;
  createdAt: string;
  source: "api" | "plan" | "rollover";
  idempotencyKey: string | null;
  metadata: Record<string, unknown>;
  status: GrantStatus;
}

export interface GrantRequest {
  meter: string;
  amount: number;
  /** Default now. */
  effectiveAt?: string;
  /** Default (or null): never. */
  expiresAt?: string | null;
  /** 0–1000, default 100; lower is drawn first. */
  priority?: number;
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
}

/** Grants come in one page: `nextCursor` is always null. */
export interface GrantList {
  data: Grant[];
  nextCursor: null;
}

export interface GrantQuery {
  meter?: string;
  /** Add expired, depleted and voided grants. */
  includeInactive?: boolean;
}

export interface VoidedGrant {
  grant: Grant;
  status: "voided" | "already_voided";
}

export interface FeatureRow {
  key: string;
  value: JsonValue;
  /** `override` when the subject's own value replaces the plan's. */
  source: "plan" | "override";
}

// Meters, plans and subjects

export interface Meter {
  key: string;
  unit: string;
  kind: MeterKind;
  description: string | null;
  /** Archived meters take no new usage (422 METER_ARCHIVED). */
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface MeterRequest {
  unit: string;
  /** Default counter. */
  kind?: MeterKind;
  description?: string | null;
}

export interface MeterQuery {
  includeArchived?: boolean;
}

/** Unused allowance carried into a grant when a period closes. */
export interface Rollover {
  maxAmount?: number;
  /** Of the limit. */
  maxPercent?: number;
  expiresAfterPeriods: number;
}

/** A grant the plan gives at the start of every period. */
export interface PeriodGrant {
  amount: number;
  expiresAfterPeriods: number;
  priority?: number;
}

/** What plans and overrides may set beside the limit. */
export interface CreditSettings<G> {
  /** Percentages of the limit that notify once per period (default 80 and 100). */
  thresholds?: number[];
  /** Remaining amounts at or below which balance.low notifies. */
  balanceThresholds?: number[];
  rollover?: Rollover;
  grantEachPeriod?: G;
}

export interface Entitlement extends CreditSettings<PeriodGrant> {
  limit: number | null;
  period: PeriodKind;
  enforcement: Enforcement;
}

export interface EntitlementRequest extends CreditSettings<PeriodGrantRequest> {
  /** null: unlimited. */
  limit: number | null;
  /** Default month. */
  period?: PeriodKind;
  /** Default hard. */
  enforcement?: Enforcement;
}

export interface PeriodGrantRequest extends Omit<PeriodGrant, "expiresAfterPeriods"> {
  /** Default 1: it expires with the period it was given for. */
  expiresAfterPeriods?: number;
}

export interface Plan {
  id: string;
  name: string | null;
  entitlements: Record<string, Entitlement>;
  features: Record<string, JsonValue>;
  createdAt: string;
  updatedAt: string;
}

export interface PlanRequest {
  name?: string;
  entitlements: Record<string, EntitlementRequest>;
  features?: Record<string, JsonValue>;
}

/** Only what the subject changes; the rest comes from its plan. */
export interface EntitlementOverride extends CreditSettings<PeriodGrant> {
  limit?: number | null;
  period?: PeriodKind;
  enforcement?: Enforcement;
}

export interface EntitlementOverrideRequest extends CreditSettings<PeriodGrantRequest> {
  limit?: number | null;
  period?: PeriodKind;
  enforcement?: Enforcement;
}

export interface Subject {
  subjectId: string;
  planId: string | null;
  billingAnchorDay: number | null;
  overrides: Record<string, EntitlementOverride>;
  featureOverrides: Record<string, JsonValue>;
  createdAt: string;
  updatedAt: string;
}

/** Fields left out keep their value. */
export interface SubjectRequest {
  planId?: string | null;
  /** 1–31; null: calendar months (UTC). */
  billingAnchorDay?: number | null;
  overrides?: Record<string, EntitlementOverrideRequest>;
  featureOverrides?: Record<string, JsonValue>;
}

export interface SubjectQuery extends PageQuery {
  planId?: string;
  prefix?: string;
}

export interface Recalculated {
  subjectId: string;
  meters: { meter: string; periodStart: string | null; before: number; after: number }[];
}

// Periods and notifications

export interface PeriodRow {
  subjectId: string;
  meter: string;
  periodStart: string;
  periodEnd: string;
  total: number;
  eventCount: number;
  limit: number | null;
  /** Gauges only. */
  endValue?: number;
  peak?: number;
  closedAt: string;
  restatedAt: string | null;
}

export interface PeriodQuery extends PageQuery {
  subjectId?: string;
  meter?: string;
  /** Bounds on the period start. */
  from?: string;
  to?: string;
}

export type NotificationType =
  | "usage.recorded"
  | "entitlement.threshold_reached"
  | "entitlement.limit_reached"
  | "period.closed"
  | "period.restated"
  | "usage.voided"
  | "reservation.expired"
  | "grant.depleted"
  | "balance.low";

export interface Notification {
  id: string;
  type: string;
  subjectId: string;
  meter: string | null;
  payload: unknown;
  createdAt: string;
}

export interface NotificationQuery extends PageQuery {
  subjectId?: string;
  /** What ledgers write: every type but usage.recorded, which is sent per flush only. */
  type?: Exclude<NotificationType, "usage.recorded">;
}

// Webhook endpoints

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: NotificationType[];
  description: string | null;
  /** whsec_…: only when created or rotated; keep it. */
  secret?: string;
  /** Until when deliveries also carry the previous secret's signature; null when they carry one. */
  secretRotatingUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookEndpointRequest {
  url: string;
  events: NotificationType[];
  description?: string;
  /** Issue a new signing secret (answered once). */
  rotateSecret?: boolean;
}

export interface WebhookDelivery {
  id: string;
  notificationId: string;
  eventType: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A test delivery: sent at once, with how long the endpoint took. */
export interface WebhookTestDelivery extends WebhookDelivery {
  durationMs: number;
}

export interface RotateSecretRequest {
  /** Seconds both secrets sign deliveries (default 86400, at most 604800). */
  overlapSeconds?: number;
}

export interface RotatedSecret {
  endpoint: WebhookEndpoint;
  secret: string;
}

// Faxes and dead letters

export type FaxProvider = "telnyx" | "notifyre";

export interface FaxRegistration {
  provider: FaxProvider;
  faxId: string;
  subjectId: string;
  /** Pages to hold on meter `fax` until the provider reports the fax. */
  reservePages?: number;
}

export interface Fax {
  provider: FaxProvider;
  faxId: string;
  subjectId: string | null;
  direction: string | null;
  status: string | null;
  pageCount: number | null;
  failureReason: string | null;
}

export interface BilledFax extends Fax {
  /** The one subject the fax is billed to; null while nothing billed it. */
  billedSubjectId: string | null;
  billedPages: number | null;
  billedAt: string | null;
}

export interface FaxReceipt {
  eventId: string;
  eventType: string;
  status: string | null;
  pageCount: number | null;
  failureReason: string | null;
  /** The subject this delivery named when the fax was already billed to another. */
  attributionConflict: string | null;
  occurredAt: string;
  receivedAt: string;
}

export interface FaxRegistered {
  fax: Fax;
  /** A parked delivery was billed now. */
  billed: boolean;
  reservation: Reservation | null;
}

export interface FaxRecord {
  fax: BilledFax;
  reservation: Reservation | null;
  /** Oldest first. */
  receipts: FaxReceipt[];
}

export interface UnattributedFaxEvent {
  provider: string;
  faxId: string;
  eventId: string;
  eventType: string;
  pageCount: number;
  occurredAt: string;
  parkedAt: string;
}

export interface DeadLetter {
  id: string;
  queue: string;
  messageId: string;
  reason: string;
  detail: string;
  attempts: number;
  body: unknown;
  createdAt: string;
  replayedAt: string | null;
  replayStatus: string | null;
  dismissedAt: string | null;
  /** `replayed` once a replay applied it (or found it applied), else `dismissed` once dismissed, else `open`. */
  status: DeadLetterStatus;
}

export type DeadLetterStatus = "open" | "replayed" | "dismissed";

export interface DeadLetterQuery extends PageQuery {
  status?: DeadLetterStatus;
}

export interface DeadLetterReplayed {
  deadLetter: DeadLetter;
  result: { status: "applied" | "duplicate" | "rejected"; eventId?: string; reason?: string; detail?: string };
}

// API keys and the audit log

export type ApiKeyScope = "usage:write" | "usage:read" | "entitlements:write" | "admin";

export interface ApiKey {
  id: string;
  name: string;
  /** The secret's first characters, to tell keys apart. */
  prefix: string;
  scopes: ApiKeyScope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface ApiKeyRequest {
  name: string;
  scopes: ApiKeyScope[];
  expiresAt?: string;
}

/** The key with its secret (`tly_…`), shown this once. */
export interface ApiKeyWithSecret {
  apiKey: ApiKey;
  secret: string;
}

export interface ApiKeyQuery extends PageQuery {
  includeRevoked?: boolean;
}

export interface RollApiKeyRequest {
  /** Seconds the old secret keeps working (default 0, at most 604800). */
  overlapSeconds?: number;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: { type: "root" | "api_key"; id: string | null };
  action: string;
  target: { type: string; id: string };
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AuditLogQuery extends PageQuery {
  action?: string;
  actorType?: "root" | "api_key";
  actorId?: string;
  targetType?: string;
  targetId?: string;
  from?: string;
  to?: string;
}

// Errors

export type ErrorCode =
  | "VALIDATION_FAILED"
  | "INVALID_JSON"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "PAYLOAD_TOO_LARGE"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "IDEMPOTENCY_CONFLICT"
  | "METER_IMMUTABLE"
  | "METER_ARCHIVED"
  | "PLAN_IN_USE"
  | "API_KEY_REVOKED"
  | "FAX_ALREADY_REGISTERED"
  | "SIGNATURE_MISSING"
  | "SIGNATURE_MALFORMED"
  | "SIGNATURE_INVALID"
  | "TIMESTAMP_OUT_OF_TOLERANCE"
  | "UNKNOWN_METER"
  | "UNIT_MISMATCH"
  | "TIMESTAMP_OUT_OF_RANGE"
  | "HISTORY_ARCHIVED"
  | "NOT_A_GAUGE"
  | "NOT_A_COUNTER"
  | "RESERVATION_NOT_HELD"
  | "LIMIT_EXCEEDED"
  | "LEDGER_UNAVAILABLE"
  | "CONFIGURATION_ERROR"
  | "INTERNAL_ERROR";

/** The service's error envelope, thrown as TallyError. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string; details?: unknown };
}
