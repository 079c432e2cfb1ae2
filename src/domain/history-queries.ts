/** What history is asked and answers, whichever store keeps it (src/history/history-store.ts). */

export interface HistoryFilter {
  subjectId?: string;
  meter?: string;
  /** Inclusive, epoch ms. */
  from?: number;
  /** Exclusive, epoch ms. */
  to?: number;
  dimensions?: Record<string, string>;
  /** Voided events are left out unless asked for. */
  includeVoided?: boolean;
}

export interface HistoryCursor {
  occurredAt: number;
  id: string;
}

export interface SummaryRow {
  keys: Record<string, string | null>;
  totalE4: number;
  count: number;
  subjects: number;
  /** Distinct values of the query's `distinct` dimension, when it names one. */
  distinct?: number;
}

/** A subject's history per meter and UTC day, as recalculation rebuilds a ledger from it. */
export interface HistoryDay {
  meter: string;
  day: number;
  totalE4: number;
  eventCount: number;
}

/** A gauge move, in the order its ledger applied it. */
export interface HistoryMove {
  meter: string;
  operation: "add" | "remove" | "set";
  amountE4: number;
  occurredAt: number;
}
