// The capacity model behind `npm run simulate:capacity`: steady traffic (optionally growing each
// month) stepped day by day through each history backend, summed per month, with the first day
// each limit is exceeded. Pure: no I/O. Figures and their sources are in capacity-constants.ts.
import {
  ARCHIVE,
  D1_LIMITS,
  D1_MEASURED,
  D1_PRICES,
  D1_ROWS_READ_PER_EVENT,
  DAYS_PER_MONTH,
  DURABLE_OBJECT_LIMITS,
  DURABLE_OBJECT_PRICES,
  HYPERDRIVE_USD_PER_MONTH,
  LEDGER,
  POSTGRES_MAX_BYTES,
  POSTGRES_MEASURED,
  POSTGRES_STORAGE_USD_PER_GB_MONTH,
  POSTGRES_TIERS,
  type PostgresTier,
  R2_PRICES,
  ROLLUPS,
  SECONDS_PER_DAY,
  WORKERS_PAID_USD_PER_MONTH,
} from "./capacity-constants";

export const BACKENDS = ["d1", "d1-archive", "postgres"] as const;
export type Backend = (typeof BACKENDS)[number];

export interface CapacityInput {
  subjects: number;
  eventsPerSecond: number;
  months: number;
  /** d1-archive: days of raw events kept in D1. */
  hotDays: number;
  /** Share of all events that the biggest subject sends. */
  topShare: number;
  /** Share of events sent one per request (the rest in batches). */
  singleShare: number;
  /** Rate growth per month, as a fraction (0.1 = +10 % a month). */
  monthlyGrowth: number;
}

export interface MonthFigures {
  month: number;
  eventsPerSecond: number;
  events: number;
  /** The D1 database or the PostgreSQL instance, at the month's end. */
  storeBytes: number;
  /** R2 (d1-archive), at the month's end. */
  archiveBytes: number;
  /** D1 or PostgreSQL rows written per second, archive deletes included. */
  storeRowsWrittenPerSecond: number;
  /** Share of the one D1 writer's time, or of the PostgreSQL tier's write ceiling. */
  writerLoad: number;
  postgresTier: string | null;
  fanOut: { summary: number; export12Months: number; detail: string };
  ledger: { rowsWrittenPerSecond: number; requestsPerSecond: number; biggestSubjectBytes: number };
  costUsd: { plan: number; history: number; archive: number; ledger: number; total: number };
}

export interface LimitBreak {
  limit: string;
  capacity: number;
  unit: "bytes" | "share" | "requests/s" | "rows/s";
  peak: number;
  /** 1-based day of the run on which the limit is first exceeded; null if never within the run. */
  breaksOnDay: number | null;
  breaksInMonth: number | null;
  note: string;
}

export interface BackendProjection {
  backend: Backend;
  months: MonthFigures[];
  limits: LimitBreak[];
}

interface DayFigures {
  storeBytes: number;
  writerLoad: number;
  storeRowsWrittenPerSecond: number;
  archiveObjectBytes: number;
  biggestSubjectBytes: number;
  biggestSubjectRequestsPerSecond: number;
  historyWriterRequestsPerSecond: number;
}

interface LimitRule {
  limit: string;
  capacity: number;
  unit: LimitBreak["unit"];
  value: (day: DayFigures) => number;
  note: string;
}

const GB = 1e9;

export function projectCapacity(input: CapacityInput, backend: Backend): BackendProjection {
  const rules = limitRules(input, backend);
  const firstBreakDay = new Map<string, number>();
  const peaks = new Map<string, number>();
  const months: MonthFigures[] = [];
  const dailyEvents: number[] = [];
  let storedEvents = 0;
  let recentEvents = 0;
  let archivedEvents = 0;
  let archivedDays = 0;
  let archivedRollupBytes = 0;
  let archiveBytes = 0;
  let month = { events: 0, storeRows: 0, rowsRead: 0, archivedDays: 0 };

  for (let day = 0; day < input.months * DAYS_PER_MONTH; day++) {
    const monthNumber = Math.floor(day / DAYS_PER_MONTH) + 1;
    const eventsPerSecond = rateInMonth(input, monthNumber);
    const events = eventsPerSecond * SECONDS_PER_DAY;
    dailyEvents.push(events);
    storedEvents += events;
    recentEvents += events - (dailyEvents[day - LEDGER.keyRetentionDays] ?? 0);

    let archivedToday = 0;
    if (backend === "d1-archive" && day >= input.hotDays) {
      archivedToday = dailyEvents[day - input.hotDays]!;
      archivedEvents += archivedToday;
      archivedDays += 1;
      archivedRollupBytes += rollupRowsOfDay(input.subjects, archivedToday) * ROLLUPS.bytesPerRow;
      archiveBytes += archivedBytes(archivedToday);
    }

    const storeRows = events * rowsWrittenPerEvent(backend) + archivedToday * ARCHIVE.deleteRowsPerEvent;
    const storeRowsWrittenPerSecond = storeRows / SECONDS_PER_DAY;
    const storeBytes =
      backend === "postgres"
        ? storedEvents * POSTGRES_MEASURED.bytesPerEvent
        : (storedEvents - archivedEvents) * D1_MEASURED.bytesPerEvent + archivedRollupBytes;
    const figures: DayFigures = {
      storeBytes,
      storeRowsWrittenPerSecond,
      writerLoad: writerLoad(backend, eventsPerSecond, storeRowsWrittenPerSecond),
      archiveObjectBytes: archivedBytes(archivedToday),
      biggestSubjectBytes: input.topShare * recentEvents * LEDGER.bytesPerKey,
      biggestSubjectRequestsPerSecond: biggestSubjectRequestsPerSecond(input, eventsPerSecond),
      historyWriterRequestsPerSecond: (eventsPerSecond * flushesPerEvent(input)) / LEDGER.historyWriters,
    };
    for (const rule of rules) {
      const value = rule.value(figures);
      peaks.set(rule.limit, Math.max(peaks.get(rule.limit) ?? 0, value));
      if (value > rule.capacity && !firstBreakDay.has(rule.limit)) firstBreakDay.set(rule.limit, day + 1);
    }

    month.events += events;
    month.storeRows += storeRows;
    month.rowsRead += events * D1_ROWS_READ_PER_EVENT + archivedToday;
    month.archivedDays += archivedToday > 0 ? 1 : 0;
    if ((day + 1) % DAYS_PER_MONTH === 0) {
      const elapsedDays = day + 1;
      const monthRowsPerSecond = month.storeRows / (DAYS_PER_MONTH * SECONDS_PER_DAY);
      const tier = backend === "postgres" ? postgresTierFor(monthRowsPerSecond) : null;
      const fanOut = exportFanOut(backend, input, elapsedDays, eventsPerSecond > 0 ? archivedDays : 0, monthNumber);
      const ledgerRows = month.events * ledgerRowsPerEvent(input);
      const ledgerRequests = month.events * ledgerRequestsPerEvent(input);
      const history =
        tier === null
          ? d1Cost(storeBytes, month.storeRows, month.rowsRead)
          : tier.usdPerMonth +
            HYPERDRIVE_USD_PER_MONTH +
            Math.max(0, storeBytes / GB - tier.includedGb) * POSTGRES_STORAGE_USD_PER_GB_MONTH;
      const archive = backend === "d1-archive" ? r2Cost(archiveBytes, month.archivedDays, fanOut.export12Months - 1) : 0;
      const ledger = ledgerCost(ledgerRows, ledgerRequests, recentEvents * LEDGER.bytesPerKey);
      months.push({
        month: monthNumber,
        eventsPerSecond,
        events: month.events,
        storeBytes,
        archiveBytes,
        storeRowsWrittenPerSecond: monthRowsPerSecond,
        writerLoad: writerLoad(backend, eventsPerSecond, monthRowsPerSecond),
        postgresTier: tier?.name ?? null,
        fanOut,
        ledger: {
          rowsWrittenPerSecond: ledgerRows / (DAYS_PER_MONTH * SECONDS_PER_DAY),
          requestsPerSecond: ledgerRequests / (DAYS_PER_MONTH * SECONDS_PER_DAY),
          biggestSubjectBytes: figures.biggestSubjectBytes,
        },
        costUsd: {
          plan: WORKERS_PAID_USD_PER_MONTH,
          history,
          archive,
          ledger,
          total: WORKERS_PAID_USD_PER_MONTH + history + archive + ledger,
        },
      });
      month = { events: 0, storeRows: 0, rowsRead: 0, archivedDays: 0 };
    }
  }

  const limits = rules.map((rule): LimitBreak => {
    const day = firstBreakDay.get(rule.limit) ?? null;
    return {
      limit: rule.limit,
      capacity: rule.capacity,
      unit: rule.unit,
      peak: peaks.get(rule.limit) ?? 0,
      breaksOnDay: day,
      breaksInMonth: day === null ? null : Math.ceil(day / DAYS_PER_MONTH),
      note: rule.note,
    };
  });
  return { backend, months, limits };
}

export function rateInMonth(input: CapacityInput, month: number): number {
  return input.eventsPerSecond * (1 + input.monthlyGrowth) ** (month - 1);
}

function rowsWrittenPerEvent(backend: Backend): number {
  return backend === "postgres" ? POSTGRES_MEASURED.rowsWrittenPerEvent : D1_MEASURED.rowsWrittenPerEvent;
}

/** One D1 thread: a query's fixed cost per writer batch plus a cost per row; PostgreSQL: rows over the tier's ceiling. */
function writerLoad(backend: Backend, eventsPerSecond: number, rowsWrittenPerSecond: number): number {
  if (backend === "postgres") return rowsWrittenPerSecond / postgresTierFor(rowsWrittenPerSecond).writeRowsPerSecond;
  const batchesPerSecond = eventsPerSecond / D1_MEASURED.eventsPerWriterBatch;
  return batchesPerSecond * D1_LIMITS.secondsPerQuery + rowsWrittenPerSecond * D1_LIMITS.secondsPerRowWritten;
}

/** The cheapest tier whose write ceiling covers the rate, else the largest. */
export function postgresTierFor(rowsWrittenPerSecond: number): PostgresTier {
  return POSTGRES_TIERS.find((tier) => tier.writeRowsPerSecond >= rowsWrittenPerSecond) ?? POSTGRES_TIERS[POSTGRES_TIERS.length - 1]!;
}

/** Distinct cells hit when `draws` events fall uniformly on `cells` (uniform spreads widest: an upper bound). */
function distinctCells(cells: number, draws: number): number {
  return cells <= 0 ? 0 : -cells * Math.expm1(-draws / cells);
}

/** Rollup rows one day leaves in D1: subject-days and quarter-hour slots, plain and by dimension. */
export function rollupRowsOfDay(subjects: number, events: number): number {
  const subjectMeters = subjects * ROLLUPS.metersPerSubject;
  const slotMeters = ROLLUPS.quarterHoursPerDay * ROLLUPS.metersPerSubject;
  return (
    distinctCells(subjectMeters, events) +
    distinctCells(subjectMeters * ROLLUPS.dimensionCombinationsPerSubjectMeter, events) +
    distinctCells(slotMeters, events) +
    distinctCells(slotMeters * ROLLUPS.dimensionCombinationsPerMeter, events)
  );
}

function archivedBytes(events: number): number {
  return (events * ARCHIVE.ndjsonBytesPerEvent) / ARCHIVE.compressionRatio;
}

function exportFanOut(backend: Backend, input: CapacityInput, elapsedDays: number, archivedDays: number, month: number) {
  if (backend === "postgres") {
    const partitions = Math.min(month, 12);
    return { summary: 1, export12Months: 1, detail: `1 instance, ${partitions} monthly partition${partitions === 1 ? "" : "s"}` };
  }
  if (backend === "d1") return { summary: 1, export12Months: 1, detail: "1 D1" };
  const yearDays = 12 * DAYS_PER_MONTH;
  const objects = Math.max(0, Math.min(archivedDays, yearDays - input.hotDays, elapsedDays));
  return { summary: 1, export12Months: 1 + objects, detail: `1 D1 + ${objects} R2 object${objects === 1 ? "" : "s"}` };
}

function ledgerRowsPerEvent(input: CapacityInput): number {
  return input.singleShare * LEDGER.rowsWrittenPerSingleEvent + (1 - input.singleShare) * LEDGER.rowsWrittenPerBatchEvent;
}

function flushesPerEvent(input: CapacityInput): number {
  return input.singleShare * LEDGER.flushesPerSingleEvent + (1 - input.singleShare) * LEDGER.flushesPerBatchEvent;
}

function ledgerRequestsPerEvent(input: CapacityInput): number {
  const calls = input.singleShare + (1 - input.singleShare) * LEDGER.callsPerBatchEvent;
  return calls + flushesPerEvent(input) * LEDGER.requestsPerFlush;
}

/** The biggest subject gets `topShare` of each batch in one call, and a call per single event. */
function biggestSubjectRequestsPerSecond(input: CapacityInput, eventsPerSecond: number): number {
  const ownEventsPerSecond = input.topShare * eventsPerSecond;
  const ownEventsPerBatchCall = Math.max(1, input.topShare * LEDGER.eventsPerBatchRequest);
  return ownEventsPerSecond * (input.singleShare + (1 - input.singleShare) / ownEventsPerBatchCall);
}

function d1Cost(bytes: number, rowsWritten: number, rowsRead: number): number {
  return (
    Math.max(0, bytes / GB - D1_PRICES.includedGb) * D1_PRICES.usdPerGbMonth +
    (Math.max(0, rowsWritten - D1_PRICES.includedRowsWritten) / 1e6) * D1_PRICES.usdPerMillionRowsWritten +
    (Math.max(0, rowsRead - D1_PRICES.includedRowsRead) / 1e6) * D1_PRICES.usdPerMillionRowsRead
  );
}

function r2Cost(bytes: number, puts: number, objectsPerTwelveMonthRead: number): number {
  const reads = objectsPerTwelveMonthRead * ARCHIVE.twelveMonthReadsPerMonth;
  return (
    Math.max(0, bytes / GB - R2_PRICES.includedGbMonth) * R2_PRICES.usdPerGbMonth +
    (Math.max(0, puts - R2_PRICES.includedClassA) / 1e6) * R2_PRICES.usdPerMillionClassA +
    (Math.max(0, reads - R2_PRICES.includedClassB) / 1e6) * R2_PRICES.usdPerMillionClassB
  );
}

function ledgerCost(rowsWritten: number, requests: number, bytes: number): number {
  const prices = DURABLE_OBJECT_PRICES;
  return (
    (Math.max(0, rowsWritten - prices.includedRowsWritten) / 1e6) * prices.usdPerMillionRowsWritten +
    (Math.max(0, requests - prices.includedRequests) / 1e6) * prices.usdPerMillionRequests +
    Math.max(0, bytes / GB - prices.includedGb) * prices.usdPerGbMonth
  );
}

function limitRules(input: CapacityInput, backend: Backend): LimitRule[] {
  const keyDays = LEDGER.keyRetentionDays;
  const ledgerRules: LimitRule[] = [
    {
      limit: "biggest subject's ledger storage",
      capacity: DURABLE_OBJECT_LIMITS.maxBytes,
      unit: "bytes",
      value: (day) => day.biggestSubjectBytes,
      note: `bounded: keys are kept 40 days (up to ${keyDays}), so it stops growing after day ${keyDays} at a steady rate`,
    },
    {
      limit: "biggest subject's ledger requests",
      capacity: DURABLE_OBJECT_LIMITS.maxRequestsPerSecond,
      unit: "requests/s",
      value: (day) => day.biggestSubjectRequestsPerSecond,
      note: `${Math.round(input.topShare * 100)} % of events; a batch gives it one call`,
    },
    {
      limit: "history writer requests (each)",
      capacity: DURABLE_OBJECT_LIMITS.maxRequestsPerSecond,
      unit: "requests/s",
      value: (day) => day.historyWriterRequestsPerSecond,
      note: `${LEDGER.historyWriters} writers, one request per ledger flush, whatever the backend`,
    },
  ];
  if (backend === "postgres") {
    const largest = POSTGRES_TIERS[POSTGRES_TIERS.length - 1]!;
    return [
      {
        limit: "PostgreSQL volume",
        capacity: POSTGRES_MAX_BYTES,
        unit: "bytes",
        value: (day) => day.storeBytes,
        note: "one instance, partitioned by month",
      },
      {
        limit: "PostgreSQL write ceiling",
        capacity: largest.writeRowsPerSecond,
        unit: "rows/s",
        value: (day) => day.storeRowsWrittenPerSecond,
        note: `largest tier (${largest.name}); ceiling from the bench's server CPU per event`,
      },
      ...ledgerRules,
    ];
  }
  const d1Rules: LimitRule[] = [
    {
      limit: "D1 database size",
      capacity: D1_LIMITS.maxBytes,
      unit: "bytes",
      value: (day) => day.storeBytes,
      note: backend === "d1" ? "all history in one database" : `${input.hotDays} hot days plus every archived day's rollups`,
    },
    {
      limit: "D1 writer (one thread)",
      capacity: 1,
      unit: "share",
      value: (day) => day.writerLoad,
      note: "1 ms per batch + 12 µs per row written; reads not counted",
    },
  ];
  if (backend === "d1") return [...d1Rules, ...ledgerRules];
  const archiveRule: LimitRule = {
    limit: "R2 day object in one PUT",
    capacity: R2_PRICES.maxSinglePutBytes,
    unit: "bytes",
    value: (day) => day.archiveObjectBytes,
    note: "past it the archiver needs a multipart upload",
  };
  return [...d1Rules, archiveRule, ...ledgerRules];
}
