import type { Bucket, BucketUnit } from "./time-buckets";

export type GroupKey = "meter" | "subjectId" | BucketUnit | `dimension.${string}`;

export const QUARTER_MS = 15 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;
/** Dimensions the rollups keep (they have their own virtual columns in history too). */
export const ROLLUP_DIMENSIONS = ["schoolId", "pantryId", "itemType"] as const;

export interface SummaryQuery {
  groupBy: GroupKey[];
  subjectId?: string;
  meter?: string;
  /** Inclusive, epoch ms. */
  from?: number;
  /** Exclusive, epoch ms. */
  to?: number;
  dimensions: Record<string, string>;
  /** The time buckets, when grouped by one. */
  buckets: Bucket[] | null;
  /** Count voided events too (only the events know them; the rollups leave them out). */
  includeVoided?: boolean;
  /** A dimension whose distinct values each row counts (events without it add none). */
  distinct?: string;
}

/** A labelled half-open range: in rollup units (quarters or days) for rollups, in ms for edges. */
export interface LabelledRange {
  label: string | null;
  from: number;
  to: number;
}

export type SummaryPlan =
  | { source: "events" }
  | {
      source: "rollups";
      /** Quarter-hour slots, or whole UTC days when the subject is a group key (subject rollups are daily). */
      grain: "quarter" | "day";
      /** Whether the dimension rollups are needed (a dimension is grouped or filtered on). */
      dimensions: boolean;
      rollups: LabelledRange[];
      /** The parts of the range that do not fill a whole rollup unit, read from the events. */
      edges: LabelledRange[];
    };

/**
 * How a summary is answered. Whole quarter-hours (or days) come from the rollups; the ragged ends
 * of each bucket come from the events, so results are exact for any range and zone. The events
 * answer alone when the rollups cannot: a dimension the rollups do not keep (grouped, filtered or
 * counted distinct), or voided events
 * asked for; and for one subject (its own index is small) unless `subjectRollups` asks for its
 * subject-day rollups (when its raw events are archived), which makes the grain whole UTC days.
 */
export function planSummary(query: SummaryQuery, options: { subjectRollups?: boolean } = {}): SummaryPlan {
  if ((query.subjectId !== undefined && options.subjectRollups !== true) || query.includeVoided === true) return { source: "events" };
  const dimensions = [
    ...query.groupBy.filter((k) => k.startsWith("dimension.")).map((k) => k.slice("dimension.".length)),
    ...Object.keys(query.dimensions),
    ...(query.distinct === undefined ? [] : [query.distinct]),
  ];
  if (!dimensions.every((d) => (ROLLUP_DIMENSIONS as readonly string[]).includes(d))) return { source: "events" };

  const grain = query.groupBy.includes("subjectId") || query.subjectId !== undefined ? "day" : "quarter";
  const unit = grain === "day" ? DAY_MS : QUARTER_MS;
  const rollups: LabelledRange[] = [];
  const edges: LabelledRange[] = [];
  for (const { label, from: start, to: end } of summaryRanges(query)) {
    const whole = { from: Math.ceil(start / unit), to: Math.floor(end / unit) };
    if (whole.from >= whole.to) {
      edges.push({ label, from: start, to: end });
      continue;
    }
    rollups.push({ label, ...whole });
    if (start < whole.from * unit) edges.push({ label, from: start, to: whole.from * unit });
    if (whole.to * unit < end) edges.push({ label, from: whole.to * unit, to: end });
  }
  if (rollups.length === 0) return { source: "events" };
  return { source: "rollups", grain, dimensions: dimensions.length > 0, rollups, edges };
}

/**
 * What a summary counts, in ms: each time bucket clipped to [from, to) (empty ones left out), or
 * the whole range unlabelled; never before 1970, where no event is.
 */
export function summaryRanges(query: Pick<SummaryQuery, "from" | "to" | "buckets">): LabelledRange[] {
  const from = Math.max(query.from ?? 0, 0);
  const to = query.to ?? Number.MAX_SAFE_INTEGER;
  const buckets = query.buckets ?? [{ label: null, start: from, end: to }];
  return buckets.map((b) => ({ label: b.label, from: Math.max(b.start, from), to: Math.min(b.end, to) })).filter((r) => r.from < r.to);
}

/** Quarters in a UTC day, and in each half of the subject-day rollups' quarter masks. */
const QUARTERS_PER_DAY = 96;
const QUARTERS_PER_HALF = 48;

/**
 * A run of UTC days [fromDay, toDay) of one quarter range, with the quarters of each of those
 * days that the range covers, as the subject-day rollups mark them (bits 0-47 in `am`, 48-95 in
 * `pm`). A subject-day row counts for the range when it shares a bit with the piece.
 */
export interface DayPiece {
  label: string | null;
  fromDay: number;
  toDay: number;
  am: number;
  pm: number;
}

/** Bits [from, to) of a 48-bit mask; numbers stay exact up to 2^53. */
function bits(from: number, to: number): number {
  return to > from ? 2 ** to - 2 ** from : 0;
}

function pieceOfDay(label: string | null, day: number, fromQuarter: number, toQuarter: number): DayPiece {
  const half = QUARTERS_PER_HALF;
  return {
    label,
    fromDay: day,
    toDay: day + 1,
    am: bits(Math.min(fromQuarter, half), Math.min(toQuarter, half)),
    pm: bits(Math.max(fromQuarter, half) - half, Math.max(toQuarter, half) - half),
  };
}

/**
 * The day pieces of quarter ranges: a partial first day, the whole days in between (one piece,
 * however many), a partial last day. Computed once here so the database only ANDs masks.
 */
export function dayPieces(ranges: LabelledRange[]): DayPiece[] {
  const whole = bits(0, QUARTERS_PER_HALF);
  return ranges.flatMap(({ label, from, to }) => {
    const firstDay = Math.floor(from / QUARTERS_PER_DAY);
    const lastDay = Math.floor((to - 1) / QUARTERS_PER_DAY);
    if (firstDay === lastDay) return [pieceOfDay(label, firstDay, from - firstDay * QUARTERS_PER_DAY, to - firstDay * QUARTERS_PER_DAY)];
    const pieces: DayPiece[] = [];
    const wholeFrom = Math.ceil(from / QUARTERS_PER_DAY);
    const wholeTo = Math.floor(to / QUARTERS_PER_DAY);
    if (wholeFrom > firstDay) pieces.push(pieceOfDay(label, firstDay, from - firstDay * QUARTERS_PER_DAY, QUARTERS_PER_DAY));
    if (wholeTo > wholeFrom) pieces.push({ label, fromDay: wholeFrom, toDay: wholeTo, am: whole, pm: whole });
    if (wholeTo <= lastDay) pieces.push(pieceOfDay(label, lastDay, 0, to - lastDay * QUARTERS_PER_DAY));
    return pieces;
  });
}
