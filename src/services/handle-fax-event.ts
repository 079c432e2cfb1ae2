import { database } from "../db/database";
import { findFax, park, recordFaxEvent } from "../db/faxes";
import { faxUsageMetadata, type FaxEvent } from "../domain/fax";
import { billFax, billParked, type FaxResult } from "./bill-fax";

/**
 * Keeps a verified event and bills a delivered outbound fax to its subject: the one the event
 * names, else the registry's, else it is parked until the fax is registered. Throws when the bill
 * cannot be written, so the provider delivers again.
 */
export async function handleFaxEvent(env: Env, event: FaxEvent, nowMs = Date.now()): Promise<FaxResult> {
  await recordFaxEvent(env.DB, event, nowMs);
  if (event.refusal !== null) return { outcome: "refused", reason: event.refusal };
  if (!event.billable || event.faxId === null || event.pageCount === null) return { outcome: "recorded" };
  const db = database(env.DB);
  const billable = { ...event, faxId: event.faxId, pageCount: event.pageCount };
  const subjectId = event.subjectHint ?? (await findFax(db, event.provider, event.faxId))?.subjectId ?? null;
  if (subjectId !== null) {
    const { provider, faxId, eventId, pageCount: pages, occurredAt } = billable;
    return billFax(env, db, subjectId, { provider, faxId, eventId, pages, occurredAt, metadata: faxUsageMetadata(event) }, nowMs);
  }

  await park(db, billable, faxUsageMetadata(event), nowMs);
  // The fax may have been registered while this event was parking; whoever comes second bills it.
  const registered = await findFax(db, event.provider, event.faxId);
  if (registered?.subjectId) return billParked(env, db, registered, nowMs);
  return { outcome: "parked" };
}
