import { z } from "zod";
import { billingOf, faxIdOf, type FaxEvent } from "../domain/fax";
import { SubjectId } from "../domain/usage-event";
import { wellFormedString } from "../domain/well-formed";

const Envelope = z.object({
  data: z.object({
    event_type: wellFormedString().min(1),
    id: wellFormedString().min(1),
    occurred_at: z.string().optional(),
    payload: z.record(z.string(), z.unknown()).default({}),
  }),
});

/**
 * Maps a verified Telnyx delivery to a fax event; null when it is not a Telnyx event envelope at
 * all. `payload.user_id` is the Telnyx account, never our subject: only client_state names one.
 */
export function parseTelnyxEvent(body: unknown, nowMs: number): FaxEvent | null {
  const parsed = Envelope.safeParse(body);
  if (!parsed.success) return null;
  const { event_type: eventType, id, occurred_at, payload } = parsed.data.data;
  const direction = payload.direction === "inbound" || payload.direction === "outbound" ? payload.direction : null;
  const occurredAt = occurred_at ? Date.parse(occurred_at) : Number.NaN;
  return {
    provider: "telnyx",
    eventId: id,
    eventType,
    faxId: faxIdOf(payload.fax_id),
    direction,
    status: typeof payload.status === "string" ? payload.status.toLowerCase() : null,
    failureReason: typeof payload.failure_reason === "string" ? payload.failure_reason : null,
    occurredAt: Number.isNaN(occurredAt) ? nowMs : occurredAt,
    subjectHint: subjectFromClientState(payload.client_state),
    ...billingOf(eventType === "fax.delivered" && direction !== "inbound", payload.page_count),
  };
}

/** client_state is base64 of `{"subjectId": "…"}` when the sender put one there. */
export function subjectFromClientState(clientState: unknown): string | null {
  if (typeof clientState !== "string" || clientState.length === 0 || clientState.length > 4096) return null;
  try {
    const decoded = JSON.parse(atob(clientState)) as { subjectId?: unknown };
    const subject = SubjectId.safeParse(decoded?.subjectId);
    return subject.success ? subject.data : null;
  } catch {
    return null;
  }
}
