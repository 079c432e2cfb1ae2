import { database } from "../db/database";
import { findMeter, forgetMeterCatalog, insertMeter, updateMeterDescription, type Meter } from "../db/meters";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import type { MeterKind } from "../domain/event-rules";
import { recordAudit } from "./audit-trail";

export interface MeterInput {
  unit: string;
  kind: MeterKind;
  description?: string | null | undefined;
}

/**
 * Creates the meter, or updates its description. Unit and kind are fixed once defined, because
 * history is counted in them: another unit or kind is METER_IMMUTABLE. An archived meter stays
 * archived (unarchiving is its own call). A PUT that changes nothing writes and logs nothing.
 */
export async function defineMeter(
  env: Env,
  audit: AuditContext,
  key: string,
  input: MeterInput,
): Promise<{ meter: Meter; created: boolean }> {
  const db = database(env.DB);
  const now = Date.now();
  const created: Meter = {
    key,
    unit: input.unit,
    kind: input.kind,
    description: input.description ?? null,
    createdAt: now,
    updatedAt: now,
    archivedAt: null,
  };
  if (await insertMeter(db, created)) {
    forgetMeterCatalog();
    await recordAudit(env, audit, { action: "meter.put", target: { type: "meter", id: key }, before: null, after: created });
    return { meter: created, created: true };
  }
  const existing = await findMeter(db, key);
  if (!existing || existing.unit !== input.unit || existing.kind !== input.kind) {
    throw new DomainError("METER_IMMUTABLE", `Meter '${key}' is already defined as ${existing?.kind} of '${existing?.unit}'.`);
  }
  if (input.description === undefined || input.description === existing.description) return { meter: existing, created: false };
  await updateMeterDescription(db, key, input.description, now);
  const updated = { ...existing, description: input.description, updatedAt: now };
  await recordAudit(env, audit, { action: "meter.put", target: { type: "meter", id: key }, before: existing, after: updated });
  return { meter: updated, created: false };
}
