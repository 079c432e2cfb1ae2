import { database } from "../db/database";
import { counterDays, gaugeMoves } from "../db/history-days";
import { findEvent, findLedgerEvents, listHistory } from "../db/usage-events";
import { summarise, summariseWithArchived } from "../db/usage-summary";
import type { HistoryCursor, HistoryDay, HistoryFilter, HistoryMove, SummaryRow } from "../domain/history-queries";
import type { StoredEvent } from "../domain/stored-event";
import type { SummaryPlan, SummaryQuery } from "../domain/summary-plan";
import { type HistoryBatchResult, type HistoryEntry, writeHistoryBatch } from "./history-batch";
import type { HistoryStore } from "./history-store";

/** History in the D1 database bound as DB: usage_events with its rollup tables (migrations/). */
export class D1HistoryStore implements HistoryStore {
  constructor(private readonly d1: D1Database) {}

  writeBatch(entries: HistoryEntry[]): Promise<HistoryBatchResult> {
    return writeHistoryBatch(this.d1, entries);
  }

  list(filter: HistoryFilter, limit: number, after?: HistoryCursor, order: "newest" | "oldest" = "newest"): Promise<StoredEvent[]> {
    return listHistory(database(this.d1), filter, limit, after, order);
  }

  find(id: string): Promise<StoredEvent | null> {
    return findEvent(database(this.d1), id);
  }

  findLedgerEvents(ids: string[]): Promise<StoredEvent[]> {
    return findLedgerEvents(database(this.d1), ids);
  }

  summarise(query: SummaryQuery): Promise<SummaryRow[]> {
    return summarise(this.d1, query);
  }

  /** A summary by the given plan, counting these archived events as if they were still in D1 (src/history/tiered-history-store.ts). */
  summariseWithArchived(query: SummaryQuery, plan: SummaryPlan, archived: StoredEvent[]): Promise<SummaryRow[]> {
    return summariseWithArchived(this.d1, query, plan, archived);
  }

  counterDays(subjectId: string, gaugeMeters: string[], fromDay: number | null): Promise<HistoryDay[]> {
    return counterDays(this.d1, subjectId, gaugeMeters, fromDay);
  }

  gaugeMoves(subjectId: string, gaugeMeters: string[]): Promise<HistoryMove[]> {
    return gaugeMoves(this.d1, subjectId, gaugeMeters);
  }
}
