import type { HistoryDay, HistoryMove } from "../../domain/history-queries";
import type { PgQuery } from "./query";

/** Counter totals per meter and UTC day from `fromDay` on (every day when null), gauges and voided events left out. */
export async function counterDays(query: PgQuery, subjectId: string, gaugeMeters: string[], fromDay: number | null): Promise<HistoryDay[]> {
  const rows = await query<{ meter: string; day: string; total_e4: string; n: string }>(
    `SELECT meter, occurred_at / 86400000 AS day, sum(amount_e4) AS total_e4, count(*) AS n FROM usage_events
     WHERE subject_id = $1 ${fromDay === null ? "" : "AND occurred_at >= $3::bigint * 86400000"}
       AND NOT (meter = ANY($2::text[])) AND voided_at IS NULL
     GROUP BY meter, day ORDER BY meter COLLATE "C", day`,
    fromDay === null ? [subjectId, gaugeMeters] : [subjectId, gaugeMeters, fromDay],
  );
  return rows.map((r) => ({ meter: r.meter, day: Number(r.day), totalE4: Number(r.total_e4), eventCount: Number(r.n) }));
}

/**
 * A subject's gauge moves that stand, in the order its ledger applied them: by its sequence.
 * Rows from before the sequence existed (copied from D1) come first, in the order they were received.
 */
export async function gaugeMoves(query: PgQuery, subjectId: string, gaugeMeters: string[]): Promise<HistoryMove[]> {
  if (gaugeMeters.length === 0) return [];
  const rows = await query<{ meter: string; operation: HistoryMove["operation"]; amount_e4: string; occurred_at: string }>(
    `SELECT meter, operation, amount_e4, occurred_at FROM usage_events
     WHERE subject_id = $1 AND meter = ANY($2::text[]) AND voided_at IS NULL
     ORDER BY subject_seq NULLS FIRST, received_at, id`,
    [subjectId, gaugeMeters],
  );
  return rows.map((r) => ({ meter: r.meter, operation: r.operation, amountE4: Number(r.amount_e4), occurredAt: Number(r.occurred_at) }));
}
