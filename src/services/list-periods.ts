import { database } from "../db/database";
import { listPeriods as periodRows, type PeriodFilter, type PeriodUsageRow } from "../db/periods";

/** Closed-period rollups, oldest period first, after the cursor row. */
export async function listPeriods(
  env: Env,
  filter: PeriodFilter,
  limit: number,
  after?: { periodStart: number; subjectId: string; meter: string },
): Promise<PeriodUsageRow[]> {
  return periodRows(database(env.DB), filter, limit, after);
}
