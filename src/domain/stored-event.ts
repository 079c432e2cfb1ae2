import { fromE4 } from "./amount";
import type { GaugeOperation } from "./event-rules";

/** An accepted event as the ledger keeps it and D1 stores it. */
export interface StoredEvent {
  id: string;
  /**
   * The subject's order of events: strictly increasing in the order its ledger created (and
   * applied) them, never reused; gaps are normal. Internal (never in the public event). Events
   * created before it existed have none.
   */
  seq?: number;
  subjectId: string;
  meter: string;
  unit: string;
  amountE4: number;
  operation: GaugeOperation;
  /** Epoch ms. */
  occurredAt: number;
  /** Epoch ms. */
  receivedAt: number;
  source: EventSource;
  idempotencyKey: string | null;
  dimensions: Record<string, string>;
  metadata: Record<string, JsonValue>;
  /** Epoch ms when an operator voided it (history only; a ledger's new events have none). */
  voidedAt?: number | null;
  voidReason?: string | null;
  /** The grants this event drew on past the period allowance, in draw order. */
  grantDraws?: GrantDraw[];
}

export interface GrantDraw {
  grantId: string;
  amountE4: number;
}

/** An event as its ledger sent it: the void marks history adds left out (what replays answer). */
export function asLedgerSent(stored: StoredEvent): StoredEvent {
  const { voidedAt: _voidedAt, voidReason: _voidReason, ...event } = stored;
  return event;
}

/** Any value JSON can carry (event metadata arrives as parsed JSON). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Where an event came in: `api` (single), `batch`, `queue`, `webhook:<provider>`, `consume`, … */
export type EventSource = string;

/** The event as clients see it (DESIGN §4). */
export interface PublicEvent {
  id: string;
  subjectId: string;
  meter: string;
  unit: string;
  amount: number;
  operation: GaugeOperation;
  timestamp: string;
  receivedAt: string;
  source: string;
  idempotencyKey: string | null;
  dimensions: Record<string, string>;
  metadata: Record<string, JsonValue>;
  voidedAt: string | null;
  voidReason: string | null;
  /** The grants the event drew on, in draw order; empty when it drew on none. */
  grantDraws: { grantId: string; amount: number }[];
}

export function toPublicEvent(e: StoredEvent): PublicEvent {
  return {
    id: e.id,
    subjectId: e.subjectId,
    meter: e.meter,
    unit: e.unit,
    amount: fromE4(e.amountE4),
    operation: e.operation,
    timestamp: new Date(e.occurredAt).toISOString(),
    receivedAt: new Date(e.receivedAt).toISOString(),
    source: e.source,
    idempotencyKey: e.idempotencyKey,
    dimensions: e.dimensions,
    metadata: e.metadata,
    voidedAt: e.voidedAt == null ? null : new Date(e.voidedAt).toISOString(),
    voidReason: e.voidReason ?? null,
    grantDraws: (e.grantDraws ?? []).map((d) => ({ grantId: d.grantId, amount: fromE4(d.amountE4) })),
  };
}
