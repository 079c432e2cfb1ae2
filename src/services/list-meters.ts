import { database } from "../db/database";
import { listMeters as meterRows, type Meter } from "../db/meters";

export async function listMeters(env: Env): Promise<Meter[]> {
  return meterRows(database(env.DB));
}
