import { DomainError } from "../domain/errors";
import type { HistoryCursor, HistoryDay, HistoryFilter, HistoryMove, SummaryRow } from "../domain/history-queries";
import type { StoredEvent } from "../domain/stored-event";
import type { SummaryQuery } from "../domain/summary-plan";
import { D1HistoryStore } from "./d1-history-store";
import type { HistoryBatchResult, HistoryEntry } from "./history-batch";
import { PostgresHistoryStore } from "./postgres-history-store";
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
  summarise(query: SummaryQuery): Promise<SummaryRow[]>;
  /** A subject's counter totals per meter and UTC day from `fromDay` on (all days when null), for recalculation. */
  counterDays(subjectId: string, gaugeMeters: string[], fromDay: number | null): Promise<HistoryDay[]>;
  /** A subject's gauge moves that stand, in the order its ledger applied them. */
  gaugeMoves(subjectId: string, gaugeMeters: string[]): Promise<HistoryMove[]>;
}

export type HistoryBackend = "d1" | "postgres";

/**
 * The history store of this deployment: HISTORY_BACKEND `d1` (the default; its old days archived
 * to R2) or `postgres` (the Hyperdrive binding HISTORY_DB). Anything else fails every history call
 * rather than fall back to D1: history split between two stores would be wrong, while a failing
 * writer loses nothing (the ledgers keep their outboxes until a write succeeds).
 */
export function historyStore(env: Pick<Env, "DB" | "HISTORY_ARCHIVE" | "HISTORY_BACKEND" | "HISTORY_DB">): HistoryStore {
  const backend = historyBackend(env.HISTORY_BACKEND);
  if (backend === "d1") return new TieredHistoryStore(new D1HistoryStore(env.DB), env.DB, env.HISTORY_ARCHIVE);
  if (!env.HISTORY_DB) {
    throw new DomainError("CONFIGURATION_ERROR", 'HISTORY_BACKEND is "postgres" but the Hyperdrive binding HISTORY_DB is not configured.');
  }
  return new PostgresHistoryStore(env.HISTORY_DB, env.DB);
}

export function historyBackend(setting: string | undefined): HistoryBackend {
  if (setting === undefined || setting === "" || setting === "d1") return "d1";
  if (setting === "postgres") return "postgres";
  throw new DomainError("CONFIGURATION_ERROR", `HISTORY_BACKEND must be "d1" or "postgres", not ${JSON.stringify(setting)}.`);
}
