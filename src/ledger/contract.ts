import type { Decision, LedgerConfiguration, SubjectConfig } from "../domain/entitlements";
import type { MeterKind, ResolvedEvent } from "../domain/event-rules";
import type { NotificationType } from "../domain/notifications";
import type { JsonValue, StoredEvent } from "../domain/stored-event";

/** One event sent to a subject's ledger. */
export interface LedgerEventInput extends ResolvedEvent {
  source: string;
  /** `consume` applies the limit and may be denied; the default records a fact. */
  mode?: "record" | "consume";
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
  limitE4: number | null;
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
  state(): Promise<LedgerState>;
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
