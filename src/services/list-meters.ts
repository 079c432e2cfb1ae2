import { database } from "../db/database";
import { listMeters as meterRows, type Meter } from "../db/meters";

/** Meters in key order; archived ones only when asked for. */
export async function listMeters(env: Env, includeArchived: boolean): Promise<Meter[]> {
  const meters = await meterRows(database(env.DB));
  return includeArchived ? meters : meters.filter((m) => m.archivedAt === null);
}
