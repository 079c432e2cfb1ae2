import { database } from "../db/database";
import { meterCatalog } from "../db/meters";
import { DomainError } from "../domain/errors";

/**
 * Refuses a configuration naming meters that are not defined (their limits would never apply) or
 * are archived (they take no new usage, so no new entitlements either).
 */
export async function requireKnownMeters(env: Env, keys: string[], where: string): Promise<void> {
  const catalog = await meterCatalog(database(env.DB), keys);
  const unknown = keys.filter((key) => !catalog.has(key));
  if (unknown.length > 0) {
    throw new DomainError(
      "UNKNOWN_METER",
      `No meter ${named(unknown)} is defined (in ${where}). Define it with PUT /v1/meters/{key} first.`,
      {
        meters: unknown,
      },
    );
  }
  const archived = keys.filter((key) => catalog.get(key)?.archivedAt != null);
  if (archived.length > 0) {
    throw new DomainError("METER_ARCHIVED", `Meter ${named(archived)} is archived (in ${where}); unarchive it or leave it out.`, {
      meters: archived,
    });
  }
}

const named = (keys: string[]) => keys.map((key) => `'${key}'`).join(", ");
