import { database } from "../db/database";
import { findFax, park, recordFaxEvent } from "../db/faxes";
import { failsFax, faxUsageMetadata, type FaxEvent } from "../domain/fax";
import { billFax, billParked, type FaxResult } from "./bill-fax";
import { releaseFaxHold } from "./fax-holds";

/**
 * Keeps a verified event and bills a delivered outbound fax to its subject: the one the event
 * names, else the registry's, else it is parked until the fax is registered. A failed fax's hold
 * is released. Throws when the bill or the release cannot be written, so the provider delivers again.
 */
export async function handleFaxEvent(env: Env, event: FaxEvent, nowMs = Date.now()): Promise<FaxResult> {
  await recordFaxEvent(env.DB, event, nowMs);
  if (event.refusal !== null) return { outcome: "refused", reason: event.refusal };
  if (event.faxId === null) return { outcome: "recorded" };
  const db = database(env.DB);
  if (failsFax(event)) {
    const fax = await findFax(db, event.provider, event.faxId);
    if (fax?.reservationId && fax.subjectId) await releaseFaxHold(env, { subjectId: fax.subjectId, reservationId: fax.reservationId });
    return { outcome: "recorded" };
  }
  if (!event.billable || event.pageCount === null) return { outcome: "recorded" };
  const billable = { ...event, faxId: event.faxId, pageCount: event.pageCount };
  const registered = await findFax(db, event.provider, event.faxId);
  const subjectId = event.subjectHint ?? registered?.subjectId ?? null;
  if (subjectId !== null) {
    const { provider, faxId, eventId, pageCount: pages, occurredAt } = billable;
    const billing = { provider, faxId, eventId, pages, occurredAt, metadata: faxUsageMetadata(event) };
    return billFax(env, db, subjectId, billing, registered, nowMs);
  }

  await park(db, billable, faxUsageMetadata(event), nowMs);
  // The fax may have been registered while this event was parking; whoever comes second bills it.
  const registeredSince = await findFax(db, event.provider, event.faxId);
  if (registeredSince?.subjectId) return billParked(env, db, registeredSince, nowMs);
  return { outcome: "parked" };
}
