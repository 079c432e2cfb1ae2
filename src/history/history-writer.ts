import { DurableObject } from "cloudflare:workers";
import { log } from "../http/log";
import { GroupCommit } from "./group-commit";
import { CHUNKS_PER_BATCH, type HistoryEntry, MAX_CHUNK_BYTES, MAX_CHUNK_ENTRIES } from "./history-batch";
import { historyStore } from "./history-store";

export type HistoryWriteResult = { ok: true; usageSubscribed: boolean } | { ok: false; error: string };

export interface HistoryWriterRpc {
  write(entries: HistoryEntry[]): Promise<HistoryWriteResult>;
}

/**
 * Writes many ledgers' outbox entries to D1 together: the ledgers' flushes that arrive while a
 * D1 batch is in flight go into the next one, so D1 sees one transaction for many subjects
 * instead of one per subject. It keeps nothing durable: a ledger removes its entries only after
 * `write` answers, so a writer that dies mid-batch loses nothing (the ledger flushes again, and
 * D1 ignores what it already holds).
 */
export class HistoryWriter extends DurableObject<Env> implements HistoryWriterRpc {
  private readonly commits = new GroupCommit<HistoryEntry[], HistoryWriteResult>({
    commit: (submissions) => this.commit(submissions),
    // Up to one full ledger flush's worth of entries and bytes per D1 batch.
    weigh: (entries) =>
      entries.length / (MAX_CHUNK_ENTRIES * CHUNKS_PER_BATCH) +
      entries.reduce((bytes, e) => bytes + e.body.length, 0) / (MAX_CHUNK_BYTES * CHUNKS_PER_BATCH),
    maxWeight: 1,
  });

  /** Answers a failure rather than throwing it: an exception leaving an RPC method is logged as uncaught. */
  async write(entries: HistoryEntry[]): Promise<HistoryWriteResult> {
    if (entries.length === 0) return { ok: true, usageSubscribed: false };
    try {
      return await this.commits.submit(entries);
    } catch (error) {
      return { ok: false, error: String(error) };
    }
  }

  private async commit(submissions: HistoryEntry[][]): Promise<HistoryWriteResult[]> {
    const entries = submissions.flat();
    const result = await historyStore(this.env).writeBatch(entries);
    if (this.env.METRICS_LOG === "true") {
      log("info", "metrics.history_write", {
        submissions: submissions.length,
        entries: entries.length,
        events: result.events,
        d1RowsWritten: result.d1RowsWritten,
      });
    }
    return submissions.map(() => ({ ok: true, usageSubscribed: result.usageSubscribed }));
  }
}
