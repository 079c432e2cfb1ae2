import { database } from "../db/database";
import { meterCatalog } from "../db/meters";
import { DomainError } from "../domain/errors";
import type { MeterDefinition, MeterKind } from "../domain/event-rules";

/** Every meter's kind, which ledgers need to count and report. */
export async function meterKinds(env: Env): Promise<Record<string, MeterKind>> {
  const meters = await meterCatalog(database(env.DB), [], Date.now());
  return Object.fromEntries([...meters.values()].map((m) => [m.key, m.kind]));
}

export async function meterKind(env: Env, meter: string): Promise<MeterKind> {
  return (await meterDefinition(env, meter)).kind;
}

export async function meterDefinition(env: Env, meter: string): Promise<MeterDefinition> {
  const known = (await meterCatalog(database(env.DB), [meter], Date.now())).get(meter);
  if (!known) throw new DomainError("UNKNOWN_METER", `Meter '${meter}' is not defined.`);
  return known;
}
