import type { HistoryCursor, HistoryDay, HistoryFilter, HistoryMove, SummaryRow } from "../domain/history-queries";
import type { StoredEvent } from "../domain/stored-event";
import type { SummaryQuery } from "../domain/summary-plan";
import type { OffsetSegment } from "../domain/time-buckets";
import { D1HistoryStore } from "./d1-history-store";
import type { HistoryBatchResult, HistoryEntry } from "./history-batch";
import { TieredHistoryStore } from "./tiered-history-store";

/**
 * Everything that reads or writes history and its rollups. Services, the ledgers and the history
 * writers reach history only through it (test/node/architecture.test.ts), so a backend other than
 * D1 implements this and nothing else changes.
 */
export interface HistoryStore {
  /** Writes ledger outbox entries in one transaction; what the store already holds is ignored. */
  writeBatch(entries: HistoryEntry[]): Promise<HistoryBatchResult>;
  /** A page after the cursor: newest first for reading, oldest first for export. */
  list(filter: HistoryFilter, limit: number, after?: HistoryCursor, order?: "newest" | "oldest"): Promise<StoredEvent[]>;
  find(id: string): Promise<StoredEvent | null>;
  /** The events with these ids as their ledger sent them (void marks left out), for replays. */
  findLedgerEvents(ids: string[]): Promise<StoredEvent[]>;
  summarise(query: SummaryQuery, offsets: OffsetSegment[] | null): Promise<SummaryRow[]>;
  /** A subject's counter totals per meter and UTC day from `fromDay` on (all days when null), for recalculation. */
  counterDays(subjectId: string, gaugeMeters: string[], fromDay: number | null): Promise<HistoryDay[]>;
  /** A subject's gauge moves that stand, in the order its ledger applied them. */
  gaugeMoves(subjectId: string, gaugeMeters: string[]): Promise<HistoryMove[]>;
}

/** The history store of this deployment: D1 (the only backend so far), its old days archived to R2. */
export function historyStore(env: Pick<Env, "DB" | "HISTORY_ARCHIVE">): HistoryStore {
  return new TieredHistoryStore(new D1HistoryStore(env.DB), env.DB, env.HISTORY_ARCHIVE);
}
