import type { SummaryRow } from "../domain/history-queries";
import type { SummaryQuery } from "../domain/summary-plan";
import type { OffsetSegment } from "../domain/time-buckets";
import { historyStore } from "../history/history-store";

/**
 * Usage totals grouped by meter, subject, a time bucket and dimensions; `offsets` are the time
 * zone's UTC offsets over the range, for bucketing events.
 */
export async function summariseUsage(env: Env, query: SummaryQuery, offsets: OffsetSegment[] | null): Promise<SummaryRow[]> {
  return historyStore(env).summarise(query, offsets);
}
