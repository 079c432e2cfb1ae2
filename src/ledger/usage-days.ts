import { daysOf, type UsageWindow } from "../domain/usage-window";

/** One meter's usage on one UTC day. */
export interface UsageDay {
  meter: string;
  day: number;
  /** Counters: the day's sum. Gauges: the net change of the moves stamped that day. */
  totalE4: number;
  eventCount: number;
  /** Gauges: the level after the last move stamped that day (in the order moves were applied). */
  levelE4: number | null;
  /** Counters: the largest event. Gauges: the highest level after a move stamped that day. */
  peakE4: number;
}

type UsageDayRow = { meter: string; day: number; total_e4: number; event_count: number; level_e4: number | null; peak_e4: number };

/**
 * Usage per meter and UTC day, the unit every period is made of: periods start at a UTC midnight
 * whatever the configuration, so any period's total is a sum of whole days, and a configuration
 * change never needs to re-key anything.
 */
export class UsageDays {
  constructor(private readonly sql: SqlStorage) {}

  /** Adds counted events to a day. */
  addCounts(meter: string, day: number, totalE4: number, eventCount: number, peakE4: number): void {
    this.sql.exec(
      `INSERT INTO usage_days (meter, day, total_e4, event_count, peak_e4) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (meter, day) DO UPDATE SET total_e4 = total_e4 + excluded.total_e4,
         event_count = event_count + excluded.event_count, peak_e4 = max(peak_e4, excluded.peak_e4)`,
      meter,
      day,
      totalE4,
      eventCount,
      peakE4,
    );
  }

  /** Records one gauge move on the day it is stamped with: its net change and the level it left. */
  addGaugeMove(meter: string, day: number, deltaE4: number, levelE4: number): void {
    this.sql.exec(
      `INSERT INTO usage_days (meter, day, total_e4, event_count, level_e4, peak_e4) VALUES (?1, ?2, ?3, 1, ?4, ?4)
       ON CONFLICT (meter, day) DO UPDATE SET total_e4 = total_e4 + excluded.total_e4, event_count = event_count + 1,
         level_e4 = excluded.level_e4, peak_e4 = max(peak_e4, excluded.peak_e4)`,
      meter,
      day,
      deltaE4,
      levelE4,
    );
  }

  /** A counter's total and event count over a window. */
  sum(meter: string, window: UsageWindow): { totalE4: number; eventCount: number } {
    const { from, to } = daysOf(window);
    const totals = "coalesce(sum(total_e4), 0) AS totalE4, coalesce(sum(event_count), 0) AS eventCount";
    // Two statements rather than `?2 IS NULL OR day >= ?2`, which would keep SQLite from a range scan.
    const cursor =
      from === null || to === null
        ? this.sql.exec<{ totalE4: number; eventCount: number }>(`SELECT ${totals} FROM usage_days WHERE meter = ?`, meter)
        : this.sql.exec<{ totalE4: number; eventCount: number }>(
            `SELECT ${totals} FROM usage_days WHERE meter = ? AND day >= ? AND day < ?`,
            meter,
            from,
            to,
          );
    return cursor.one();
  }

  /**
   * A gauge over a bounded window: the level it ended at and its peak, counting the level carried
   * in from before the window; and how many moves were stamped inside it.
   */
  gaugeSpan(meter: string, fromDay: number, toDay: number): { endValueE4: number; peakE4: number; eventCount: number } {
    const carried =
      this.sql
        .exec<{ level: number }>(
          "SELECT level_e4 AS level FROM usage_days WHERE meter = ? AND day < ? AND level_e4 IS NOT NULL ORDER BY day DESC LIMIT 1",
          meter,
          fromDay,
        )
        .toArray()[0]?.level ?? 0;
    const inside = this.sql
      .exec<{ peak: number | null; moves: number }>(
        "SELECT max(peak_e4) AS peak, coalesce(sum(event_count), 0) AS moves FROM usage_days WHERE meter = ? AND day >= ? AND day < ?",
        meter,
        fromDay,
        toDay,
      )
      .one();
    const last = this.sql
      .exec<{ level: number }>(
        "SELECT level_e4 AS level FROM usage_days WHERE meter = ? AND day >= ? AND day < ? AND level_e4 IS NOT NULL ORDER BY day DESC LIMIT 1",
        meter,
        fromDay,
        toDay,
      )
      .toArray()[0]?.level;
    return { endValueE4: last ?? carried, peakE4: Math.max(carried, inside.peak ?? 0), eventCount: inside.moves };
  }

  /** The first day with usage of a meter on or after `fromDay`. */
  firstDayFrom(meter: string, fromDay: number): number | null {
    return this.sql
      .exec<{ day: number | null }>("SELECT min(day) AS day FROM usage_days WHERE meter = ? AND day >= ?", meter, fromDay)
      .one().day;
  }

  meters(): string[] {
    return this.sql
      .exec<{ meter: string }>("SELECT DISTINCT meter FROM usage_days ORDER BY meter")
      .toArray()
      .map((r) => r.meter);
  }

  /** Replaces a meter's days from `fromDay` on (recalculation from history). */
  replaceFrom(meter: string, fromDay: number, days: Omit<UsageDay, "meter">[]): void {
    this.sql.exec("DELETE FROM usage_days WHERE meter = ? AND day >= ?", meter, fromDay);
    if (days.length === 0) return;
    this.sql.exec(
      `INSERT INTO usage_days (meter, day, total_e4, event_count, level_e4, peak_e4)
       SELECT ?1, value ->> 'day', value ->> 'totalE4', value ->> 'eventCount', value ->> 'levelE4', value ->> 'peakE4' FROM json_each(?2)`,
      meter,
      JSON.stringify(days),
    );
  }

  all(): UsageDay[] {
    return this.sql
      .exec<UsageDayRow>("SELECT meter, day, total_e4, event_count, level_e4, peak_e4 FROM usage_days ORDER BY meter, day")
      .toArray()
      .map((r) => ({ meter: r.meter, day: r.day, totalE4: r.total_e4, eventCount: r.event_count, levelE4: r.level_e4, peakE4: r.peak_e4 }));
  }
}
