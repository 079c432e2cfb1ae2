// Rows and bytes written per event, for the benchmark's metrics passes.
//
// With the worker var METRICS_LOG = "true" the ledger logs one JSON line per ledger write call
// (`metrics.ledger_call`: events created, ledger SQLite rows written) and one per history flush
// (`metrics.history_flush`: outbox entries and events handed to a history writer); each history
// writer logs one per D1 batch (`metrics.history_write`: the flushes it carried, their events and
// D1's meta.rows_written summed over the batch).
// `wrangler dev` prints a worker's console.log only at `--log-level log` (the default; `info` and
// below hide it). The bytes come from the local D1 file itself.
import { readdirSync } from "node:fs";
import path from "node:path";

export interface WriteTotals {
  /** Every metrics.ledger_call line: each ledger transaction, and rows written outside one (the flush's outbox removal). */
  ledgerCalls: number;
  /** Of those, the calls that created events. */
  ledgerCallsWithEvents: number;
  ledgerEvents: number;
  ledgerRows: number;
  flushes: number;
  flushEntries: number;
  flushEvents: number;
  /** D1 batches the history writers made, and what they wrote. */
  d1Writes: number;
  d1WriteEvents: number;
  d1Rows: number;
}

const empty = (): WriteTotals => ({
  ledgerCalls: 0,
  ledgerCallsWithEvents: 0,
  ledgerEvents: 0,
  ledgerRows: 0,
  flushes: 0,
  flushEntries: 0,
  flushEvents: 0,
  d1Writes: 0,
  d1WriteEvents: 0,
  d1Rows: 0,
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: wrangler colours some lines
const ANSI = /\u001b\[[0-9;]*m/g;

/** Sums the metrics lines of the dev server's output, fed one line at a time. */
export class MetricsLog {
  private totals = empty();

  onLine(raw: string): void {
    if (!raw.includes('"metrics.')) return;
    const line = raw.replace(ANSI, "");
    const start = line.indexOf("{");
    const end = line.lastIndexOf("}");
    if (start < 0 || end < start) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line.slice(start, end + 1)) as Record<string, unknown>;
    } catch {
      return;
    }
    const n = (key: string) => (typeof entry[key] === "number" ? (entry[key] as number) : 0);
    if (entry.message === "metrics.ledger_call") {
      this.totals.ledgerCalls++;
      if (n("events") > 0) this.totals.ledgerCallsWithEvents++;
      this.totals.ledgerEvents += n("events");
      this.totals.ledgerRows += n("rowsWritten");
    } else if (entry.message === "metrics.history_flush") {
      this.totals.flushes++;
      this.totals.flushEntries += n("entries");
      this.totals.flushEvents += n("events");
    } else if (entry.message === "metrics.history_write") {
      this.totals.d1Writes++;
      this.totals.d1WriteEvents += n("events");
      this.totals.d1Rows += n("d1RowsWritten");
    }
  }

  snapshot(): WriteTotals {
    return { ...this.totals };
  }
}

export interface WritesPerEvent {
  events: number;
  /** null: no metrics lines arrived (the ledger does not log them). */
  ledgerRowsPerEvent: number | null;
  d1RowsPerEvent: number | null;
  /** The pass's events per ledger call that created any, and per history flush. */
  eventsPerLedgerCall: number | null;
  eventsPerFlush: number | null;
  /** The pass's events per D1 batch: what the history writers coalesced. */
  eventsPerD1Write: number | null;
  totals: WriteTotals;
}

export function writesPerEvent(before: WriteTotals, after: WriteTotals, events: number): WritesPerEvent {
  const d = Object.fromEntries(
    Object.keys(after).map((k) => [k, after[k as keyof WriteTotals] - before[k as keyof WriteTotals]]),
  ) as unknown as WriteTotals;
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    events,
    ledgerRowsPerEvent: d.ledgerCalls > 0 ? ratio(d.ledgerRows, events) : null,
    d1RowsPerEvent: d.d1Writes > 0 ? ratio(d.d1Rows, events) : null,
    // The pass's own count: a line's `events` may count what its statements report (an
    // AUTOINCREMENT insert also writes sqlite_sequence).
    eventsPerLedgerCall: ratio(events, d.ledgerCallsWithEvents),
    eventsPerFlush: ratio(events, d.flushes),
    eventsPerD1Write: ratio(events, d.d1Writes),
    totals: d,
  };
}

/** The local D1 database file wrangler keeps under `<state>/v3/d1/miniflare-D1DatabaseObject/`. */
export function d1File(state: string): string {
  const dir = path.join(state, "v3/d1/miniflare-D1DatabaseObject");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (files.length !== 1) throw new Error(`expected one D1 database in ${dir}, found ${files.join(", ") || "none"}`);
  return path.join(dir, files[0]!);
}

/**
 * Bytes in use in the database (pages not on the freelist), and per table with its indexes.
 * Read-only and alongside the running server: a WAL reader sees every committed page.
 */
export interface D1Bytes {
  total: number;
  byTable: Record<string, number>;
}

export async function d1Bytes(file: string): Promise<D1Bytes> {
  // Imported here: node:sqlite prints an experimental-feature warning when loaded.
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const pragma = (name: string) => Number(Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0]);
    const total = (pragma("page_count") - pragma("freelist_count")) * pragma("page_size");
    const byTable: Record<string, number> = {};
    const rows = db
      .prepare(
        `SELECT coalesce(m.tbl_name, s.name) AS tbl, sum(s.pgsize) AS bytes
         FROM dbstat s LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY tbl`,
      )
      .all() as { tbl: string; bytes: number }[];
    for (const r of rows) byTable[r.tbl] = Number(r.bytes);
    return { total, byTable };
  } finally {
    db.close();
  }
}

export interface BytesPerEvent {
  events: number;
  total: number;
  /** Tables (each with its indexes) that grew, largest first. */
  byTable: Record<string, number>;
}

export function bytesPerEvent(before: D1Bytes, after: D1Bytes, events: number): BytesPerEvent {
  const byTable = Object.entries(after.byTable)
    .map(([t, b]) => [t, (b - (before.byTable[t] ?? 0)) / events] as const)
    .filter(([, b]) => b > 0)
    .sort((a, b) => b[1] - a[1]);
  return { events, total: (after.total - before.total) / events, byTable: Object.fromEntries(byTable) };
}
