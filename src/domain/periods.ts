export type PeriodKind = "month" | "day" | "none";
/** The kinds that have periods at all; "none" is all time, which has no bounds (src/domain/usage-window.ts). */
export type BoundedPeriodKind = Exclude<PeriodKind, "none">;

/** Half-open `[start, end)` in UTC epoch ms. */
export interface Period {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month0: number): number {
  return month0 === 1 && isLeapYear(year) ? 29 : MONTH_DAYS[month0]!;
}

/** The day a period starts on in that month: the anchor, or the month's last day when shorter (31 → 28/29/30). */
export function clampAnchorDay(year: number, month0: number, anchorDay: number): number {
  checkAnchorDay(anchorDay);
  if (!Number.isInteger(month0) || month0 < 0 || month0 > 11) throw new RangeError(`month must be an integer from 0 to 11, got ${month0}`);
  return Math.min(anchorDay, daysInMonth(year, month0));
}

/** Start of the period that begins in `month0` of `year`; `month0` may run past 0..11. */
function monthStart(year: number, month0: number, anchorDay: number): number {
  const y = year + Math.floor(month0 / 12);
  const m = month0 - Math.floor(month0 / 12) * 12;
  // Not Date.UTC: it reads years 0–99 as 1900–1999.
  return new Date(0).setUTCFullYear(y, m, clampAnchorDay(y, m, anchorDay));
}

function checkAnchorDay(anchorDay: number): void {
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 31) {
    throw new RangeError(`anchor day must be an integer from 1 to 31, got ${anchorDay}`);
  }
}

export function periodContaining(atMs: number, kind: BoundedPeriodKind, anchorDay = 1): Period {
  checkAnchorDay(anchorDay);
  if (!Number.isFinite(atMs)) throw new RangeError(`time must be a finite number of milliseconds, got ${atMs}`);
  const date = new Date(atMs);
  if (Number.isNaN(date.getTime())) throw new RangeError(`time ${atMs} is outside the range of dates`);
  if (kind === "day") {
    const start = Math.floor(atMs / DAY_MS) * DAY_MS;
    return { start, end: start + DAY_MS };
  }
  if (kind !== "month") throw new RangeError(`unknown period kind ${String(kind)}`);
  const year = date.getUTCFullYear();
  let month0 = date.getUTCMonth();
  // Before this month's anchor, the period began in the previous month.
  if (atMs < monthStart(year, month0, anchorDay)) month0 -= 1;
  return { start: monthStart(year, month0, anchorDay), end: monthStart(year, month0 + 1, anchorDay) };
}

export function nextPeriod(p: Period, kind: BoundedPeriodKind, anchorDay = 1): Period {
  return periodContaining(p.end, kind, anchorDay);
}

export function previousPeriod(p: Period, kind: BoundedPeriodKind, anchorDay = 1): Period {
  return periodContaining(p.start - 1, kind, anchorDay);
}
