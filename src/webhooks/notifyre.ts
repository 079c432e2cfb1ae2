import { z } from "zod";
import { billingOf, faxIdOf, type FaxEvent } from "../domain/fax";
import { SubjectId } from "../domain/usage-event";
import { wellFormedString } from "../domain/well-formed";

const Envelope = z.object({
  Event: wellFormedString().min(1),
  Timestamp: z.number().optional(),
  Payload: z.record(z.string(), z.unknown()).default({}),
});

const DELIVERED = new Set(["successful", "completed", "delivered"]);
const FAILED = new Set(["failed", "busy", "no-answer", "cancelled", "canceled"]);

/**
 * Maps a verified Notifyre delivery to a fax event; null when it is not a Notifyre envelope.
 * Notifyre sends no event id, so the fax id, event, status and the subject it names stand for one
 * (a redelivery of the same state is the same event; one naming another subject is not).
 */
export function parseNotifyreEvent(body: unknown, nowMs: number): FaxEvent | null {
  const parsed = Envelope.safeParse(body);
  if (!parsed.success) return null;
  const { Event: eventType, Timestamp, Payload: p } = parsed.data;
  const faxId = faxIdOf(p.ID);
  const rawStatus = typeof p.Status === "string" ? p.Status.toLowerCase() : null;
  const status = rawStatus === null ? null : DELIVERED.has(rawStatus) ? "delivered" : FAILED.has(rawStatus) ? "failed" : rawStatus;
  const inbound = eventType === "fax_received";
  const seconds = typeof p.LastModifiedDateUtc === "number" ? p.LastModifiedDateUtc : Timestamp;
  const reference = SubjectId.safeParse(p.Reference);
  const subjectHint = eventType === "fax_sent" && reference.success ? reference.data : null;
  return {
    provider: "notifyre",
    eventId: `${eventType}:${faxId ?? "none"}:${rawStatus ?? "none"}${subjectHint === null ? "" : `:${subjectHint}`}`,
    eventType,
    faxId,
    direction: eventType === "fax_sent" ? "outbound" : inbound ? "inbound" : null,
    status: inbound && status === null ? "received" : status,
    failureReason: status === "failed" ? (rawStatus ?? "failed") : null,
    occurredAt: typeof seconds === "number" && Number.isFinite(seconds) ? seconds * 1000 : nowMs,
    subjectHint,
    ...billingOf(eventType === "fax_sent" && status === "delivered", p.Pages),
  };
}
