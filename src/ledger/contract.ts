import type { ResolvedEvent } from "../domain/event-rules";
import type { StoredEvent } from "../domain/stored-event";

/** One event sent to a subject's ledger. */
export interface LedgerEventInput extends ResolvedEvent {
  source: string;
}

export type RecordOutcome =
  | { status: "created"; event: StoredEvent }
  /** The key was seen with the same body: the original event, counted once. */
  | { status: "duplicate"; event: StoredEvent }
  /** The key was seen with a different body: nothing changed; the original event. */
  | { status: "conflict"; event: StoredEvent };

/**
 * The ledger's RPC surface as callers see it. Stubs are typed through this interface because the
 * runtime's derived stub types recurse without end on JSON-valued fields.
 */
export interface LedgerRpc {
  record(subjectId: string, events: LedgerEventInput[]): Promise<RecordOutcome[]>;
  state(): Promise<LedgerState>;
}

export interface CounterSnapshot {
  meter: string;
  periodStart: number;
  periodEnd: number;
  totalE4: number;
  eventCount: number;
}

export interface LedgerState {
  subjectId: string | null;
  counters: CounterSnapshot[];
  outboxSize: number;
  idempotencyKeys: number;
}
