import { database } from "../db/database";
import { meterCatalog } from "../db/meters";
import { DomainError } from "../domain/errors";

/** Refuses a configuration naming meters that are not defined: their limits would never apply. */
export async function requireKnownMeters(env: Env, keys: string[], where: string): Promise<void> {
  const catalog = await meterCatalog(database(env.DB), keys);
  const unknown = keys.filter((key) => !catalog.has(key));
  if (unknown.length === 0) return;
  const named = unknown.map((key) => `'${key}'`).join(", ");
  throw new DomainError("UNKNOWN_METER", `No meter ${named} is defined (in ${where}). Define it with PUT /v1/meters/{key} first.`, {
    meters: unknown,
  });
}
