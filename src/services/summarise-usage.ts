import type { SummaryQuery } from "../domain/summary-plan";
import { orderRows, previousRange, type ReportRow, type SummaryOptions, withPrevious } from "../domain/summary-report";
import { historyStore } from "../history/history-store";

/**
 * Usage totals grouped by meter, subject, a time bucket and dimensions; with `compare`, each
 * group's total over the previous range beside it; ordered and cut as `options` say.
 */
export async function summariseUsage(env: Env, query: SummaryQuery, options: SummaryOptions = {}): Promise<ReportRow[]> {
  const store = historyStore(env);
  const rows =
    options.compare === "previous"
      ? withPrevious(query, ...(await Promise.all([store.summarise(query), store.summarise(previousRange(query))])))
      : await store.summarise(query);
  return orderRows(query, rows, options);
}
