import type { HistoryDay, HistoryMove } from "../domain/history-queries";

export type { HistoryDay, HistoryMove };

/**
 * Counter totals per meter and day from `fromDay` on (every day when null), gauges and voided events
 * left out. Days the archive serves come from the subject-day rollups (which hold exactly the
 * standing events of each day), the others from the events still in D1.
 */
export async function counterDays(d1: D1Database, subjectId: string, gaugeMeters: string[], fromDay: number | null): Promise<HistoryDay[]> {
  const { results } = await d1
    .prepare(
      `SELECT meter, day, totalE4, eventCount FROM (
         SELECT meter, occurred_at / 86400000 AS day, sum(amount_e4) AS totalE4, count(*) AS eventCount FROM usage_events
         WHERE subject_id = ?1 AND (?2 IS NULL OR occurred_at >= ?2 * 86400000) AND meter NOT IN (SELECT value FROM json_each(?3))
           AND voided_at IS NULL
           AND occurred_at / 86400000 NOT IN (SELECT day FROM history_archive_days WHERE state IN ('verified', 'deleted'))
         GROUP BY meter, day
         UNION ALL
         -- CROSS JOIN: one primary-key probe per archived day and meter, not a scan of every subject-day.
         SELECT r.meter, r.day, r.total_e4, r.events FROM history_archive_days a CROSS JOIN usage_rollup_subject_days r ON r.day = a.day
         WHERE a.state IN ('verified', 'deleted') AND (?2 IS NULL OR a.day >= ?2) AND r.subject_id = ?1
           AND r.meter IN (SELECT key FROM meters) AND r.meter NOT IN (SELECT value FROM json_each(?3)) AND r.events > 0)
       ORDER BY meter, day`,
    )
    .bind(subjectId, fromDay, JSON.stringify(gaugeMeters))
    .all<HistoryDay>();
  return results;
}

/**
 * Every move of the subject's gauges that stands (not voided), in the order they were applied: by
 * the ledger's sequence (`subject_seq`), not by rowid, as writes coalesced across subjects or resent
 * by a recovery sweep land out of order. Rows from before the sequence have none and are older than
 * any that has one; they come first, in rowid order (one flush after another was apply order then).
 */
export async function gaugeMoves(d1: D1Database, subjectId: string, gaugeMeters: string[]): Promise<HistoryMove[]> {
  if (gaugeMeters.length === 0) return [];
  const { results } = await d1
    .prepare(
      `SELECT meter, operation, amount_e4 AS amountE4, occurred_at AS occurredAt FROM usage_events
       WHERE subject_id = ? AND meter IN (SELECT value FROM json_each(?)) AND voided_at IS NULL
       ORDER BY subject_seq IS NOT NULL, subject_seq, rowid`,
    )
    .bind(subjectId, JSON.stringify(gaugeMeters))
    .all<HistoryMove>();
  return results;
}
