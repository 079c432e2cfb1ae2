import type { HistoryDay, HistoryMove } from "../domain/history-queries";
import { dayOf } from "../domain/usage-window";
import { nextLevel } from "./ledger-store";
import type { UsageDay } from "./usage-days";

/** What history says a meter's days hold, from the first day rebuilt on; gauges also their level now. */
export interface RebuiltMeter {
  meter: string;
  kind: "counter" | "gauge";
  days: Omit<UsageDay, "meter">[];
  levelE4?: number;
}

/**
 * Turns a subject's history into ledger days from `fromDay` on (every day when null). Counters
 * sum per day. Gauges replay every move in the order the ledger applied them, so the level and
 * each day's last level and peak are what the ledger would have computed.
 */
export function rebuildDays(counterDays: HistoryDay[], moves: HistoryMove[], fromDay: number | null): RebuiltMeter[] {
  const meters = new Map<string, RebuiltMeter>();
  for (const d of counterDays) {
    const meter = meters.get(d.meter) ?? { meter: d.meter, kind: "counter", days: [] };
    meter.days.push({ day: d.day, totalE4: d.totalE4, eventCount: d.eventCount, levelE4: null, peakE4: 0 });
    meters.set(d.meter, meter);
  }
  const gauges = new Map<string, { level: number; days: Map<number, Omit<UsageDay, "meter">> }>();
  for (const move of moves) {
    const gauge = gauges.get(move.meter) ?? { level: 0, days: new Map() };
    const after = nextLevel(gauge.level, { kind: "gauge", operation: move.operation, amountE4: move.amountE4 });
    const day = dayOf(move.occurredAt);
    if (fromDay === null || day >= fromDay) {
      const bucket = gauge.days.get(day) ?? { day, totalE4: 0, eventCount: 0, levelE4: null, peakE4: 0 };
      bucket.totalE4 += after - gauge.level;
      bucket.eventCount += 1;
      bucket.levelE4 = after;
      bucket.peakE4 = Math.max(bucket.peakE4, after);
      gauge.days.set(day, bucket);
    }
    gauge.level = after;
    gauges.set(move.meter, gauge);
  }
  for (const [meter, gauge] of gauges) {
    meters.set(meter, { meter, kind: "gauge", days: [...gauge.days.values()].sort((a, b) => a.day - b.day), levelE4: gauge.level });
  }
  return [...meters.values()];
}
