import { counterHistoryTotal, gaugeHistoryMoves, metersWithHistory } from "../db/history-totals";
import type { MeterKind } from "../domain/event-rules";
import type { Period } from "../domain/periods";
import { nextLevel } from "./ledger-store";

export interface HistoryTotal {
  meter: string;
  kind: MeterKind;
  totalE4: number;
  eventCount: number;
  /** Gauges: the level after every move in history, in the order the ledger applied them. */
  levelE4?: number;
}

/**
 * What D1 history says the subject's current periods hold, for every meter it has history for
 * plus `alsoMeters` (so a counter with no history left is restated to zero).
 */
export async function currentHistoryTotals(
  d1: D1Database,
  subjectId: string,
  kinds: Record<string, MeterKind>,
  periodOf: (meter: string) => Period,
  alsoMeters: string[] = [],
): Promise<HistoryTotal[]> {
  const meters = [...new Set([...(await metersWithHistory(d1, subjectId)), ...alsoMeters])].sort();
  const totals: HistoryTotal[] = [];
  for (const meter of meters) {
    const kind = kinds[meter] ?? "counter";
    const period = periodOf(meter);
    if (kind === "counter") {
      const row = await counterHistoryTotal(d1, subjectId, meter, period);
      totals.push({ meter, kind, totalE4: row?.total ?? 0, eventCount: row?.n ?? 0 });
      continue;
    }
    const moves = await gaugeHistoryMoves(d1, subjectId, meter);
    let level = 0;
    let inPeriod = 0;
    for (const move of moves) {
      level = nextLevel(level, { kind, operation: move.operation, amountE4: move.amount_e4 });
      if (move.occurred_at >= period.start && move.occurred_at < period.end) inPeriod += 1;
    }
    totals.push({ meter, kind, totalE4: level, eventCount: inPeriod, levelE4: level });
  }
  return totals;
}
