import { database } from "../db/database";
import { listPlans as planRows, type Plan } from "../db/plans";
import { pageOf, type Page } from "../domain/page";

/** Plans in id order after `afterId`, a page at a time. */
export async function listPlans(env: Env, afterId: string | null, limit: number): Promise<Page<Plan>> {
  return pageOf(await planRows(database(env.DB), afterId, limit + 1), limit);
}
