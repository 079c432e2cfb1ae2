import type { Decision, LedgerConfiguration, SubjectConfig } from "../domain/entitlements";
import type { MeterKind, ResolvedEvent } from "../domain/event-rules";
import type { NotificationType } from "../domain/notifications";
import type { GrantDraw, JsonValue, StoredEvent } from "../domain/stored-event";

/** One event sent to a subject's ledger. */
export interface LedgerEventInput extends ResolvedEvent {
  source: string;
  /** `consume` applies the limit and may be denied; the default records a fact. */
  mode?: "record" | "consume";
  /** Ledger-internal: the grant balance a committed hold set aside, which its event draws first. */
  lockedDraws?: GrantDraw[];
}

/** A closed period as D1's period_usage keeps it; amounts in ten-thousandths. */
export interface PeriodRow {
  subjectId: string;
  meter: string;
  periodStart: number;
  periodEnd: number;
  totalE4: number;
  eventCount: number;
  limitE4: number | null;
  endValueE4: number | null;
  peakE4: number | null;
  closedAt: number;
  restatedAt: number | null;
}

export type RecordOutcome =
  | { status: "created"; event: StoredEvent; decision?: Decision }
  /** The key was seen with the same body: the original event (and decision), counted once. */
  | { status: "duplicate"; event: StoredEvent; decision?: Decision }
  /** The key was seen with a different body: nothing changed; the original event. */
  | { status: "conflict"; event: StoredEvent; decision?: Decision }
  /** A consume over a hard limit: nothing recorded. */
  | { status: "denied"; decision: Decision };

/** The facts of a stored event a void needs (read from history). */
export interface VoidTarget {
  id: string;
  meter: string;
  kind: MeterKind;
  amountE4: number;
  occurredAt: number;
}

export interface VoidOutcome {
  status: "voided" | "already_voided";
  voidedAt: number;
  reason: string | null;
  /** A gauge move was voided: its level is rebuilt from history. */
  rebuildGauge: boolean;
}

export type AmendOutcome =
  /** The original was voided (now, or by a plain void before) and the replacement recorded. */
  | { status: "created" | "duplicate"; voided: { voidedAt: number; reason: string | null }; event: StoredEvent }
  /** The event was already amended with other corrections: nothing changed; the replacement that stands. */
  | { status: "conflict"; event: StoredEvent };

/** A notification written in the same transaction as the usage that caused it. */
export interface LedgerNotification {
  id: string;
  subjectId: string;
  type: Exclude<NotificationType, "usage.recorded">;
  meter: string | null;
  createdAt: number;
  payload: Record<string, JsonValue>;
}

/** One row of GET …/entitlements, amounts in ten-thousandths. */
export interface EntitlementSnapshot {
  meter: string;
  kind: MeterKind;
  usedE4: number;
  /** Reserved by holds that are still held. */
  heldE4: number;
  /** What grants give the current window: their draws in it plus the balance of grants active now. */
  grantedE4: number;
  limitE4: number | null;
  /** `limit − used − held + granted`, never below 0; null when unlimited. */
  remainingE4: number | null;
  enforcement: "hard" | "soft" | null;
  period: "month" | "day" | "none";
  /** Null for all-time meters. */
  periodStart: number | null;
  periodEnd: number | null;
}

/**
 * The ledger's RPC surface as callers see it. Stubs are typed through this interface because the
 * runtime's derived stub types recurse without end on JSON-valued fields.
 */
export interface LedgerRpc {
  record(subjectId: string, events: LedgerEventInput[]): Promise<RecordOutcome[]>;
  consume(subjectId: string, event: LedgerEventInput): Promise<RecordOutcome>;
  check(subjectId: string, meter: string, kind: MeterKind, amountE4: number): Promise<EntitlementSnapshot & { decision: Decision }>;
  configure(subjectId: string, update: Partial<LedgerConfiguration>): Promise<SubjectConfig>;
  entitlements(subjectId: string, kinds: Record<string, MeterKind>): Promise<EntitlementSnapshot[]>;
  recalculate(subjectId: string, kinds: Record<string, MeterKind>): Promise<RecalculationSummary>;
  closePeriods(subjectId: string, asOfMs: number, kinds: Record<string, MeterKind>): Promise<PeriodRow[]>;
  voidEvent(subjectId: string, target: VoidTarget, reason: string | null): Promise<VoidOutcome>;
  amend(subjectId: string, target: VoidTarget, replacement: LedgerEventInput, reason: string | null): Promise<AmendOutcome>;
  reserve(subjectId: string, input: ReservationInput): Promise<ReserveOutcome>;
  commitReservation(subjectId: string, reservationId: string, commit: CommitInput): Promise<CommitOutcome>;
  releaseReservation(subjectId: string, reservationId: string): Promise<ReleaseOutcome>;
  reservations(subjectId: string, query: ReservationQuery): Promise<Reservation[]>;
  reservation(subjectId: string, reservationId: string): Promise<Reservation | null>;
  grant(subjectId: string, input: GrantInput): Promise<GrantOutcome>;
  grants(subjectId: string, query: GrantQuery): Promise<Grant[]>;
  voidGrant(subjectId: string, grantId: string): Promise<VoidGrantOutcome>;
  state(): Promise<LedgerState>;
}

export type ReservationStatus = "held" | "committed" | "released" | "expired";

/** A hold against a meter's limit, kept by the subject's ledger; amounts in ten-thousandths. */
export interface Reservation {
  id: string;
  subjectId: string;
  meter: string;
  unit: string;
  amountE4: number;
  status: ReservationStatus;
  createdAt: number;
  expiresAt: number;
  /** When it was committed, released or expired. */
  resolvedAt: number | null;
  /** What the commit recorded (may differ from the held amount). */
  committedAmountE4: number | null;
  /** The usage event the commit recorded. */
  eventId: string | null;
  idempotencyKey: string | null;
  dimensions: Record<string, string>;
  metadata: Record<string, JsonValue>;
}

export interface ReservationInput {
  meter: string;
  kind: MeterKind;
  unit: string;
  amountE4: number;
  ttlMs: number;
  idempotencyKey: string | null;
  /** Of the request, to tell a replay from a different reserve under the same key. */
  fingerprint: string;
  dimensions: Record<string, string>;
  metadata: Record<string, JsonValue>;
}

export type ReserveOutcome =
  | { status: "created" | "duplicate"; reservation: Reservation; snapshot: EntitlementSnapshot }
  /** The key was used by a different reserve: nothing changed. */
  | { status: "conflict"; reservation: Reservation }
  /** It would not fit a hard limit: nothing held. */
  | { status: "denied"; decision: Decision; snapshot: EntitlementSnapshot };

export interface CommitInput {
  /** What actually happened; the held amount when left out. */
  amountE4: number | null;
  /** When the usage happened; now when left out. */
  occurredAt: number | null;
  source: string;
  /** The recorded event's key; `reservation:<id>` when left out (a fax commits under its fax key). */
  idempotencyKey?: string;
  /** Laid over the reservation's metadata on the recorded event. */
  metadata?: Record<string, JsonValue>;
}

export type CommitOutcome =
  /** `decision.overage`: the commit went past a hard limit (recorded anyway: it happened). */
  /** `event` is null when 0 was committed: nothing happened, nothing is recorded. */
  | { status: "committed" | "already_committed"; reservation: Reservation; event: StoredEvent | null; decision: Decision }
  /** Already committed with another amount: nothing changed. */
  | { status: "conflict"; reservation: Reservation }
  /** Released or expired: nothing recorded. */
  | { status: "not_held"; reservation: Reservation }
  | { status: "not_found" };

export type ReleaseOutcome =
  | { status: "released" | "already_released"; reservation: Reservation }
  /** Committed or expired: nothing changed. */
  | { status: "not_held"; reservation: Reservation }
  | { status: "not_found" };

export interface ReservationQuery {
  status: ReservationStatus | null;
  /** Newest first; answers those created before this (createdAt, id) position. */
  before: { createdAt: number; id: string } | null;
  limit: number;
}

export type GrantSource = "api" | "plan" | "rollover";

/** Prepaid credit on a meter, drawn after the period allowance; amounts in ten-thousandths. */
export interface Grant {
  id: string;
  subjectId: string;
  meter: string;
  amountE4: number;
  remainingE4: number;
  /** Lower is drawn first. */
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
  voidedAt: number | null;
  createdAt: number;
  source: GrantSource;
  idempotencyKey: string | null;
  metadata: Record<string, JsonValue>;
}

export interface GrantInput {
  meter: string;
  amountE4: number;
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
  idempotencyKey: string | null;
  fingerprint: string;
  metadata: Record<string, JsonValue>;
}

export type GrantOutcome = { status: "created" | "duplicate" | "conflict"; grant: Grant };

export type VoidGrantOutcome = { status: "voided" | "already_voided"; grant: Grant } | { status: "not_found" };

export interface GrantQuery {
  meter: string | null;
  /** Grants that are voided, expired or used up too. */
  includeInactive: boolean;
}

export interface RecalculationSummary {
  /** Per meter: usage in its current window (null start: all time) before and after. */
  meters: { meter: string; periodStart: number | null; beforeE4: number; afterE4: number }[];
}

export interface CounterSnapshot {
  meter: string;
  periodStart: number;
  periodEnd: number;
  totalE4: number;
  eventCount: number;
  peakE4: number;
}

export interface LedgerState {
  subjectId: string | null;
  config: SubjectConfig;
  counters: CounterSnapshot[];
  gauges: Record<string, number>;
  outboxSize: number;
  idempotencyKeys: number;
}
