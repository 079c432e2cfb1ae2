import { counterDays, gaugeMoves } from "../db/postgres/history-days";
import { ensureEventPartitions, eventRow, findEvent, findLedgerEvents, listEvents } from "../db/postgres/history-events";
import { insertEventsWithRollups, summariseFromRollups, voidEventsWithRollups } from "../db/postgres/history-rollups";
import { summariseEvents } from "../db/postgres/history-summary";
import { inTransaction } from "../db/postgres/query";
import type { HistoryCursor, HistoryDay, HistoryFilter, HistoryMove, SummaryRow } from "../domain/history-queries";
import type { StoredEvent } from "../domain/stored-event";
import { planSummary, type SummaryQuery } from "../domain/summary-plan";
import { type HistoryBatchResult, type HistoryEntry, writeControlBatch } from "./history-batch";
import type { HistoryStore } from "./history-store";
import { withPostgres } from "./postgres-connection";

/**
 * Events in PostgreSQL through Hyperdrive (migrations/postgres); what is not raw history (closed
 * periods, notifications, subjects' activity, webhook subscriptions) stays in D1. A batch writes
 * PostgreSQL first, in one transaction, then D1: when D1 fails the ledger sends the batch again and
 * PostgreSQL ignores the events it already holds, as D1 does.
 */
export class PostgresHistoryStore implements HistoryStore {
  constructor(
    private readonly hyperdrive: Hyperdrive,
    private readonly d1: D1Database,
  ) {}

  async writeBatch(entries: HistoryEntry[]): Promise<HistoryBatchResult> {
    const events = entries.filter((e) => e.kind === "event").map((e) => eventRow(e.body));
    const voids = entries.filter((e) => e.kind === "void").map((e) => e.body);
    if (events.length > 0 || voids.length > 0) {
      await withPostgres(this.hyperdrive, (query) =>
        inTransaction(query, async () => {
          if (events.length > 0) {
            await ensureEventPartitions(query, events);
            await insertEventsWithRollups(query, events);
          }
          // After the events: an amend's replacement and the void of its original may share a batch.
          if (voids.length > 0) await voidEventsWithRollups(query, voids);
        }),
      );
    }
    return writeControlBatch(this.d1, entries);
  }

  list(filter: HistoryFilter, limit: number, after?: HistoryCursor, order: "newest" | "oldest" = "newest"): Promise<StoredEvent[]> {
    return withPostgres(this.hyperdrive, (query) => listEvents(query, filter, limit, after, order));
  }

  find(id: string): Promise<StoredEvent | null> {
    return withPostgres(this.hyperdrive, (query) => findEvent(query, id));
  }

  findLedgerEvents(ids: string[]): Promise<StoredEvent[]> {
    return withPostgres(this.hyperdrive, (query) => findLedgerEvents(query, ids));
  }

  /** From the rollups where they can answer (see planSummary), else from the events. */
  async summarise(summary: SummaryQuery): Promise<SummaryRow[]> {
    const plan = planSummary(summary);
    const rows = await withPostgres(this.hyperdrive, (query) =>
      plan.source === "rollups" ? summariseFromRollups(query, summary, plan) : summariseEvents(query, summary),
    );
    return rows.filter((r) => r.count > 0);
  }

  counterDays(subjectId: string, gaugeMeters: string[], fromDay: number | null): Promise<HistoryDay[]> {
    return withPostgres(this.hyperdrive, (query) => counterDays(query, subjectId, gaugeMeters, fromDay));
  }

  gaugeMoves(subjectId: string, gaugeMeters: string[]): Promise<HistoryMove[]> {
    return withPostgres(this.hyperdrive, (query) => gaugeMoves(query, subjectId, gaugeMeters));
  }
}
