import type { GaugeOperation } from "../domain/event-rules";

/** Every meter the subject has history for; this and the two below are what the ledger's recalculation reads. */
export async function metersWithHistory(d1: D1Database, subjectId: string): Promise<string[]> {
  const { results } = await d1
    .prepare("SELECT DISTINCT meter FROM usage_events WHERE subject_id = ?")
    .bind(subjectId)
    .all<{ meter: string }>();
  return results.map((r) => r.meter);
}

/** A counter's sum and event count over [start, end). */
export async function counterHistoryTotal(
  d1: D1Database,
  subjectId: string,
  meter: string,
  period: { start: number; end: number },
): Promise<{ total: number; n: number } | null> {
  return d1
    .prepare(
      `SELECT coalesce(sum(amount_e4), 0) AS total, count(*) AS n FROM usage_events
       WHERE subject_id = ? AND meter = ? AND occurred_at >= ? AND occurred_at < ?`,
    )
    .bind(subjectId, meter, period.start, period.end)
    .first<{ total: number; n: number }>();
}

/** Every move of a gauge; rowid order is the order the ledger flushed, which is the order it applied them. */
export async function gaugeHistoryMoves(
  d1: D1Database,
  subjectId: string,
  meter: string,
): Promise<{ operation: GaugeOperation; amount_e4: number; occurred_at: number }[]> {
  const { results } = await d1
    .prepare("SELECT operation, amount_e4, occurred_at FROM usage_events WHERE subject_id = ? AND meter = ? ORDER BY rowid")
    .bind(subjectId, meter)
    .all<{ operation: GaugeOperation; amount_e4: number; occurred_at: number }>();
  return results;
}
