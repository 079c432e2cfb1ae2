export type PeriodKind = "month" | "day" | "none";

/** Half-open `[start, end)` in UTC epoch ms. */
export interface Period {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;
const ALL_TIME: Period = { start: 0, end: Number.MAX_SAFE_INTEGER };

export function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}

/** The day a period starts on in that month: the anchor, or the month's last day when shorter (31 → 28/29/30). */
export function clampAnchorDay(year: number, month0: number, anchorDay: number): number {
  return Math.min(anchorDay, daysInMonth(year, month0));
}

function monthStart(year: number, month0: number, anchorDay: number): number {
  const y = year + Math.floor(month0 / 12);
  const m = ((month0 % 12) + 12) % 12;
  return Date.UTC(y, m, clampAnchorDay(y, m, anchorDay));
}

function checkInputs(atMs: number, anchorDay: number): void {
  if (!Number.isFinite(atMs)) throw new RangeError("time must be a finite number of milliseconds");
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 31) throw new RangeError("anchor day must be an integer from 1 to 31");
}

export function periodContaining(atMs: number, kind: PeriodKind, anchorDay = 1): Period {
  checkInputs(atMs, anchorDay);
  if (kind === "none") return ALL_TIME;
  if (kind === "day") {
    const start = Math.floor(atMs / DAY_MS) * DAY_MS;
    return { start, end: start + DAY_MS };
  }
  const d = new Date(atMs);
  const year = d.getUTCFullYear();
  let month0 = d.getUTCMonth();
  // Before this month's anchor, the period began in the previous month.
  if (atMs < monthStart(year, month0, anchorDay)) month0 -= 1;
  return { start: monthStart(year, month0, anchorDay), end: monthStart(year, month0 + 1, anchorDay) };
}

export function nextPeriod(p: Period, kind: PeriodKind, anchorDay = 1): Period {
  return kind === "none" ? ALL_TIME : periodContaining(p.end, kind, anchorDay);
}

export function previousPeriod(p: Period, kind: PeriodKind, anchorDay = 1): Period {
  return kind === "none" ? ALL_TIME : periodContaining(p.start - 1, kind, anchorDay);
}
