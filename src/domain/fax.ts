import type { JsonValue } from "./stored-event";
import { wellFormedString } from "./well-formed";

export type FaxProvider = "telnyx" | "notifyre";
export type FaxDirection = "outbound" | "inbound";

/** A verified provider event, in provider-neutral terms. */
export interface FaxEvent {
  provider: FaxProvider;
  /** Unique per provider event; repeats when the provider redelivers the same event. */
  eventId: string;
  eventType: string;
  faxId: string | null;
  direction: FaxDirection | null;
  status: string | null;
  /** null when the event carries no page count: never 0 for "unknown". */
  pageCount: number | null;
  failureReason: string | null;
  /** Epoch ms. */
  occurredAt: number;
  /** The subject named in the event itself (Telnyx client_state, Notifyre Reference). */
  subjectHint: string | null;
  /** An outbound fax delivered with a page count: bill it. */
  billable: boolean;
}

/** A provider's fax id, as registered and as keyed in bills (`telnyx:<faxId>`). */
export const FaxId = wellFormedString().min(1).max(200);

/** The fax id of a provider event, or null when it carries none this service can key a bill with. */
export function faxIdOf(value: unknown): string | null {
  const parsed = FaxId.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** States a fax never leaves, whatever arrives later. */
export const TERMINAL_FAX_STATUSES = ["delivered", "failed", "received"] as const;

/** Each fax is billed once under this key, however many events announce its delivery. */
export function faxIdempotencyKey(provider: FaxProvider, faxId: string): string {
  return `${provider}:${faxId}`;
}

/** What a bill for this event records with the usage (the seed webhook handlers kept the same). */
export function faxUsageMetadata(event: FaxEvent): Record<string, JsonValue> {
  return {
    provider: event.provider,
    faxId: event.faxId,
    eventId: event.eventId,
    eventType: event.eventType,
    status: event.status,
    occurredAt: new Date(event.occurredAt).toISOString(),
  };
}

/** The page count when it is a count at all. */
export function pageCountOf(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : null;
}
