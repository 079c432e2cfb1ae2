// Capacity simulator (issue 16, part 5): months of steady traffic through each history backend,
// per month the database size, write rate, query fan-out and cost, and the month each limit breaks.
//
//   npm run simulate:capacity -- --subjects 1000 --rate 100 --months 24 [--backend d1-archive] [--json]
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ARCHIVE, D1_MEASURED } from "./lib/capacity-constants";
import { BACKENDS, type Backend, type BackendProjection, type CapacityInput, type LimitBreak, projectCapacity } from "./lib/capacity-model";

export const USAGE = `Usage: npm run simulate:capacity -- [options]

Models months of steady traffic through each history backend: per month the database size, write
rate, query fan-out and cost, and the month each limit breaks. Reads and writes nothing.

  --subjects N       subjects sending events (default 1000)
  --rate R           events per second, averaged over the day (default 1)
  --months M         months to model, 1–600 (default 24)
  --backend B        d1, d1-archive, postgres or all (default all)
  --hot-days D       d1-archive: days of raw events kept in D1, ≥ ${ARCHIVE.minHotDays} (default 90)
  --top-share S      share of events from the biggest subject, 0–1 (default 0.2)
  --single-share S   share of events sent one per request, 0–1 (default 0: all in batches)
  --growth G         rate growth per month in percent, 0–100 (default 0)
  --json             machine-readable output (default: tables)
  -h, --help         this text

Figures and their sources: scripts/lib/capacity-constants.ts.

Example: npm run simulate:capacity -- --subjects 1000 --rate 100 --months 24 --backend d1-archive`;

export class UsageError extends Error {}

export type CapacityCommand = { kind: "help" } | { kind: "run"; input: CapacityInput; backends: Backend[]; json: boolean };

export function parseCapacityArgs(argv: string[]): CapacityCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        subjects: { type: "string", default: "1000" },
        rate: { type: "string", default: "1" },
        months: { type: "string", default: "24" },
        backend: { type: "string", default: "all" },
        "hot-days": { type: "string", default: "90" },
        "top-share": { type: "string", default: "0.2" },
        "single-share": { type: "string", default: "0" },
        growth: { type: "string", default: "0" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { kind: "help" };
  const backend = String(values.backend);
  if (backend !== "all" && !(BACKENDS as readonly string[]).includes(backend)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")} or all (got "${backend}")`);
  }
  const input: CapacityInput = {
    subjects: numberOption(values, "subjects", { min: 1, max: 1e9, integer: true }),
    eventsPerSecond: numberOption(values, "rate", { min: 0, max: 1e9 }),
    months: numberOption(values, "months", { min: 1, max: 600, integer: true }),
    hotDays: numberOption(values, "hot-days", { min: ARCHIVE.minHotDays, max: 100_000, integer: true }),
    topShare: numberOption(values, "top-share", { min: 0, max: 1 }),
    singleShare: numberOption(values, "single-share", { min: 0, max: 1 }),
    monthlyGrowth: numberOption(values, "growth", { min: 0, max: 100 }) / 100,
  };
  return { kind: "run", input, backends: backend === "all" ? [...BACKENDS] : [backend as Backend], json: Boolean(values.json) };
}

function numberOption(
  values: Record<string, string | boolean | undefined>,
  name: string,
  range: { min: number; max: number; integer?: boolean },
): number {
  const text = String(values[name]).trim();
  const value = Number(text);
  if (text === "" || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number (got "${text}")`);
  if (range.integer && !Number.isInteger(value)) throw new UsageError(`--${name} must be a whole number (got ${text})`);
  if (value < range.min || value > range.max) {
    throw new UsageError(`--${name} must be between ${range.min} and ${range.max} (got ${text})`);
  }
  return value;
}

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });

export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${decimal.format(value)} ${units[unit]}`;
}

function formatRate(value: number): string {
  return value >= 1000 ? number.format(value) : decimal.format(value);
}

function formatUsd(value: number): string {
  return `$${value >= 100 ? number.format(value) : value.toFixed(2)}`;
}

function formatLimitValue(limit: LimitBreak, value: number): string {
  if (limit.unit === "bytes") return formatBytes(value);
  if (limit.unit === "share") return `${decimal.format(value * 100)} %`;
  return `${formatRate(value)} ${limit.unit === "requests/s" ? "req/s" : limit.unit}`;
}

export function describeBreak(limit: LimitBreak, months: number): string {
  if (limit.breaksInMonth === null) return `never within ${months} month${months === 1 ? "" : "s"}`;
  return `month ${limit.breaksInMonth} (day ${limit.breaksOnDay})`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}

export function renderProjection(projection: BackendProjection, input: CapacityInput): string {
  const { backend } = projection;
  const store = backend === "postgres" ? "PG size" : "D1 size";
  const header = ["month", "ev/s", store, ...(backend === "d1-archive" ? ["R2 size"] : []), "rows/s", "writer", "12-mo export reads"];
  header.push(...(backend === "postgres" ? ["tier"] : []), "ledger rows/s", "DO req/s", "$ history");
  header.push(...(backend === "d1-archive" ? ["$ R2"] : []), "$ ledger", "$ total");
  const rows = projection.months.map((month) => [
    String(month.month),
    formatRate(month.eventsPerSecond),
    formatBytes(month.storeBytes),
    ...(backend === "d1-archive" ? [formatBytes(month.archiveBytes)] : []),
    formatRate(month.storeRowsWrittenPerSecond),
    `${decimal.format(month.writerLoad * 100)} %`,
    month.fanOut.detail,
    ...(month.postgresTier === null ? [] : [month.postgresTier]),
    formatRate(month.ledger.rowsWrittenPerSecond),
    formatRate(month.ledger.requestsPerSecond),
    formatUsd(month.costUsd.history),
    ...(backend === "d1-archive" ? [formatUsd(month.costUsd.archive)] : []),
    formatUsd(month.costUsd.ledger),
    formatUsd(month.costUsd.total),
  ]);
  const limits = projection.limits.map((limit) => [
    limit.limit,
    formatLimitValue(limit, limit.capacity),
    formatLimitValue(limit, limit.peak),
    describeBreak(limit, input.months),
    limit.note,
  ]);
  return [`## ${backend}`, "", table(header, rows), "", table(["limit", "capacity", "peak", "breaks", "note"], limits)].join("\n");
}

function describeInput(input: CapacityInput): string {
  const growth = input.monthlyGrowth > 0 ? `, growing ${decimal.format(input.monthlyGrowth * 100)} % a month` : "";
  return (
    `${number.format(input.subjects)} subjects, ${formatRate(input.eventsPerSecond)} events/s${growth}, ${input.months} months ` +
    `(30 days each); hot window ${input.hotDays} days; biggest subject ${decimal.format(input.topShare * 100)} % of events; ` +
    `${decimal.format(input.singleShare * 100)} % single events. A summary reads 1 store in every backend (archived days from ` +
    `rollups; the bench's summary over 1M events: ${D1_MEASURED.summaryMsOverMillionEvents} ms p50). Costs include the $5 Workers Paid ` +
    "plan and the ledgers' Durable Objects; the ledger and history-writer limits are the same for every backend."
  );
}

export function main(argv: string[]): number {
  let command: CapacityCommand;
  try {
    command = parseCapacityArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`simulate:capacity: ${error.message} (see --help)`);
    return 2;
  }
  if (command.kind === "help") {
    console.log(USAGE);
    return 0;
  }
  const projections = command.backends.map((backend) => projectCapacity(command.input, backend));
  if (command.json) {
    console.log(JSON.stringify({ input: command.input, backends: projections }, null, 2));
    return 0;
  }
  console.log([describeInput(command.input), ...projections.map((p) => renderProjection(p, command.input))].join("\n\n"));
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
