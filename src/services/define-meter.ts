import { database } from "../db/database";
import { findMeter, forgetMeterCatalog, insertMeter, updateMeterDescription, type Meter } from "../db/meters";
import { DomainError } from "../domain/errors";
import type { MeterKind } from "../domain/event-rules";

export interface MeterInput {
  unit: string;
  kind: MeterKind;
  description?: string | null | undefined;
}

/**
 * Creates the meter, or updates its description. Unit and kind are fixed once defined, because
 * history is counted in them: another unit or kind is METER_IMMUTABLE.
 */
export async function defineMeter(env: Env, key: string, input: MeterInput): Promise<{ meter: Meter; created: boolean }> {
  const db = database(env.DB);
  const now = Date.now();
  const created: Meter = {
    key,
    unit: input.unit,
    kind: input.kind,
    description: input.description ?? null,
    createdAt: now,
    updatedAt: now,
  };
  if (await insertMeter(db, created)) {
    forgetMeterCatalog();
    return { meter: created, created: true };
  }
  let existing = await findMeter(db, key);
  if (!existing || existing.unit !== input.unit || existing.kind !== input.kind) {
    throw new DomainError("METER_IMMUTABLE", `Meter '${key}' is already defined as ${existing?.kind} of '${existing?.unit}'.`);
  }
  if (input.description !== undefined && input.description !== existing.description) {
    await updateMeterDescription(db, key, input.description, now);
    existing = { ...existing, description: input.description, updatedAt: now };
  }
  return { meter: existing, created: false };
}
