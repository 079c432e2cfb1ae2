// Every figure the capacity model (capacity-model.ts) uses, with where it comes from:
// [measured] the bench (README → Performance, run of 2026-12-01 14:36 UTC on 073390a);
// [doc] Cloudflare's pricing and limits pages, as quoted in ../shared/notes/history-at-scale.md §2;
// [assumed] a guess, to replace when it is measured. 1 GB = 10⁹ bytes throughout.

export const SECONDS_PER_DAY = 86_400;
/** A model month is 30 days, so 1 event/s is 2,592,000 events a month. */
export const DAYS_PER_MONTH = 30;

/** [measured] D1, today's schema. */
export const D1_MEASURED = {
  /** On disk per event, indexes and rollups included (usage_events and its indexes 365, rollups 5). */
  bytesPerEvent: 370,
  /** The row, four index entries, four rollup upserts (batch over 500 subjects). */
  rowsWrittenPerEvent: 9.1,
  /** Events per D1 batch the history writers carried under load (batch over 500 subjects: 303). */
  eventsPerWriterBatch: 300,
  /** A summary over 1,000,000 events, p50 (rollups plus ragged ends). */
  summaryMsOverMillionEvents: 43,
} as const;

/** [doc] D1 limits: one database is single-threaded, ~1,000 queries/s at 1 ms each; 10 GB per database. */
export const D1_LIMITS = {
  maxBytes: 10e9,
  secondsPerQuery: 0.001,
  /**
   * [measured locally, assumed deployed] CPU per written row: 109 µs per event at ~360k rows
   * (../shared/notes/performance.md §3.3) over 9 rows; it grows with the table, so this is optimistic.
   */
  secondsPerRowWritten: 12e-6,
} as const;

/** [assumed] Rows D1 reads per stored event: the write path's lookups, reports, exports, reconciliation. */
export const D1_ROWS_READ_PER_EVENT = 20;

/** [doc] https://developers.cloudflare.com/d1/platform/pricing/ (Workers Paid). */
export const D1_PRICES = {
  includedGb: 5,
  usdPerGbMonth: 0.75,
  includedRowsWritten: 50e6,
  usdPerMillionRowsWritten: 1.0,
  includedRowsRead: 25e9,
  usdPerMillionRowsRead: 0.001,
} as const;

/** [doc] The Workers Paid plan that carries the D1 and Durable Object allowances. */
export const WORKERS_PAID_USD_PER_MONTH = 5;

/** The d1-archive backend: raw days past the hot window go to R2 as one gzip NDJSON object per day. */
export const ARCHIVE = {
  /** [assumed] One event as an NDJSON line (id, subject, meter, amounts, times, dimensions, metadata). */
  ndjsonBytesPerEvent: 320,
  /** [assumed] gzip on NDJSON of repetitive keys and ids: 8:1. */
  compressionRatio: 8,
  /** [assumed] Deleting an archived event writes its row and its four index entries (rollups stay). */
  deleteRowsPerEvent: 5,
  /** [assumed] List or CSV requests per month that range over 12 months of archived days. */
  twelveMonthReadsPerMonth: 30,
  /** Events may arrive up to 35 days late, so a day is archived only after that. */
  minHotDays: 36,
} as const;

/**
 * [assumed] Rollups of archived days stay in D1; their size grows with active subject-days, not events.
 * Wider than the bench's data (1 meter, 20 schools), where ~0.17 rows per event at 40 B gives its ~5 B/event.
 */
export const ROLLUPS = {
  bytesPerRow: 40,
  metersPerSubject: 2,
  dimensionCombinationsPerSubjectMeter: 3,
  dimensionCombinationsPerMeter: 100,
  quarterHoursPerDay: 96,
} as const;

/** [doc] https://developers.cloudflare.com/r2/pricing/ (standard storage) and R2 limits (one PUT ≤ 5 GiB). */
export const R2_PRICES = {
  includedGbMonth: 10,
  usdPerGbMonth: 0.015,
  includedClassA: 1e6,
  usdPerMillionClassA: 4.5,
  includedClassB: 10e6,
  usdPerMillionClassB: 0.36,
  maxSinglePutBytes: 5 * 2 ** 30,
} as const;

/** PostgreSQL through Hyperdrive. */
export const POSTGRES_MEASURED = {
  /** [measured] on disk per event, indexes included (bench of 2026-12-01 16:16, batch over 500 subjects; no rollup tables). */
  bytesPerEvent: 818,
  /**
   * [schema] an upper bound: the heap row, its four index entries and four rollup upserts
   * (migrations/postgres); the upserts are aggregated per statement, so far fewer under load.
   */
  rowsWrittenPerEvent: 9,
} as const;

export interface PostgresTier {
  name: string;
  usdPerMonth: number;
  /** Storage the monthly price includes; above it, `POSTGRES_STORAGE_USD_PER_GB_MONTH`. */
  includedGb: number;
  /**
   * Sustained rows written per second: one core's worth per 2 vCPU at the bench's measured 76 µs of
   * server CPU per batch event (9 rows at most), a local server with no pooler in front (2026-12-01 16:16).
   */
  writeRowsPerSecond: number;
}

/**
 * [assumed] Instance prices: round figures in line with AWS RDS for PostgreSQL general-purpose
 * (db.m-class) on-demand, single-AZ, us-east-1, not checked against the price list. RDS bills all
 * storage, hence no included storage.
 */
export const POSTGRES_TIERS: readonly PostgresTier[] = [
  { name: "2 vCPU / 8 GB", usdPerMonth: 130, includedGb: 0, writeRowsPerSecond: 118_000 },
  { name: "4 vCPU / 16 GB", usdPerMonth: 260, includedGb: 0, writeRowsPerSecond: 236_000 },
  { name: "8 vCPU / 32 GB", usdPerMonth: 520, includedGb: 0, writeRowsPerSecond: 473_000 },
  { name: "16 vCPU / 64 GB", usdPerMonth: 1_040, includedGb: 0, writeRowsPerSecond: 947_000 },
];
/** gp3 storage, $0.115/GB-month (AWS RDS pricing as quoted by usage.ai's RDS pricing guide, June 2026). */
export const POSTGRES_STORAGE_USD_PER_GB_MONTH = 0.115;
/** [doc] RDS for PostgreSQL's largest volume, 64 TiB. */
export const POSTGRES_MAX_BYTES = 64 * 2 ** 40;
/** [assumed] Hyperdrive is included in Workers Paid. */
export const HYPERDRIVE_USD_PER_MONTH = 0;

/** The per-subject ledger Durable Objects, the same for every history backend. */
export const LEDGER = {
  /** [measured] Ledger rows written per event in 1,000-event batches over 500 subjects. */
  rowsWrittenPerBatchEvent: 3.0,
  /** [measured] A single event or consume: key, purge, day upsert, outbox row, sequence, removal. */
  rowsWrittenPerSingleEvent: 6.0,
  /** [measured] A 1,000-event batch over 500 subjects makes a ledger call for every 2 events. */
  callsPerBatchEvent: 0.5,
  /** [measured] A ledger flush carries 10 batch events. */
  flushesPerBatchEvent: 0.1,
  /** [assumed] A single event gets a flush of its own. */
  flushesPerSingleEvent: 1,
  /** [assumed] A flush is two Durable Object requests: the ledger's alarm and the RPC to a history writer. */
  requestsPerFlush: 2,
  /** [assumed] Events per batch request, for the biggest subject's share of a batch. */
  eventsPerBatchRequest: 1_000,
  /** Idempotency keys are kept 40 days, up to 41 (whole days are purged together). */
  keyRetentionDays: 41,
  /** [assumed] One idempotency key (every event assumed to carry one): the key, the fingerprint, the event id, b-tree overhead. */
  bytesPerKey: 200,
  /** History writers (HISTORY_WRITERS, default 4). */
  historyWriters: 4,
} as const;

/** [doc] Durable Objects: 10 GB per object, ~1,000 requests/s per object (soft). */
export const DURABLE_OBJECT_LIMITS = { maxBytes: 10e9, maxRequestsPerSecond: 1_000 } as const;

/** [doc] https://developers.cloudflare.com/durable-objects/platform/pricing/ (SQLite backend). */
export const DURABLE_OBJECT_PRICES = {
  includedRowsWritten: 50e6,
  usdPerMillionRowsWritten: 1.0,
  includedRequests: 1e6,
  usdPerMillionRequests: 0.15,
  includedGb: 5,
  usdPerGbMonth: 0.2,
} as const;
