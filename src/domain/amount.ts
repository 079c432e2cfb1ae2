/**
 * Amounts carry at most four decimals (seed NUMERIC(10,4)). They are stored and summed as integers
 * in ten-thousandths so totals are exact; 1e11 units per event keeps every sum a safe integer for
 * realistic periods (up to ~9e11 units per counter).
 */
export const AMOUNT_SCALE = 10_000;
export const MAX_AMOUNT = 100_000_000_000;

export function hasAtMostFourDecimals(value: number): boolean {
  return Number.isFinite(value) && fromE4(toE4(value)) === value;
}

export function toE4(value: number): number {
  return Math.round(value * AMOUNT_SCALE);
}

export function fromE4(scaled: number): number {
  return scaled / AMOUNT_SCALE;
}
