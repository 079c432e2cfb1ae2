import { database } from "../db/database";
import { findMeter, type Meter } from "../db/meters";
import { DomainError } from "../domain/errors";

export async function getMeter(env: Env, key: string): Promise<Meter> {
  const meter = await findMeter(database(env.DB), key);
  if (!meter) throw new DomainError("NOT_FOUND", `No meter '${key}'.`);
  return meter;
}
