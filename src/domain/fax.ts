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
  /** Why a delivered outbound fax is not billed; null when it is, or when the event bills nothing anyway. */
  refusal: FaxRefusal | null;
}

export const FAX_REFUSALS = ["INVALID_PAGE_COUNT"] as const;
export type FaxRefusal = (typeof FAX_REFUSALS)[number];

/**
 * Most pages one fax is billed for. Providers refuse documents far shorter than this (a few hundred
 * pages), so a larger count is a provider bug or a forgery, never a fax; a bill for it stays far
 * below MAX_AMOUNT.
 */
export const MAX_FAX_PAGES = 10_000;

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

/** The key of the hold a registration takes for the fax; not the bill's key, which the event its commit records keeps. */
export function faxHoldKey(provider: FaxProvider, faxId: string): string {
  return `hold:${provider}:${faxId}`;
}

/**
 * How long a fax's hold lasts: the longest a hold may. A provider retries a busy line for hours
 * before it reports the fax delivered or failed; a hold that lapsed first stops reserving pages,
 * but the delivery is still billed.
 */
export const FAX_HOLD_TTL_MS = 86_400 * 1000;

/** A hold is taken only while the fax's outcome is unknown: once delivered or failed there is nothing to reserve. */
export function holdsPages(status: string | null): boolean {
  return status === null || !(TERMINAL_FAX_STATUSES as readonly string[]).includes(status);
}

/** An event that says the fax did not go out: its hold is released. */
export function failsFax(event: FaxEvent): boolean {
  return event.status === "failed";
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

/** The page count when it is a count at all: a whole number from 0 to MAX_FAX_PAGES. */
export function pageCountOf(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_FAX_PAGES ? value : null;
}

/**
 * What an event's page count means for its bill. A delivered outbound fax is billed a whole number
 * of pages from 1 to MAX_FAX_PAGES; with any other count (or none) it is refused, and the receipt
 * keeps the reason. Other events bill nothing and keep their count when it is one.
 */
export function billingOf(delivered: boolean, pages: unknown): Pick<FaxEvent, "pageCount" | "billable" | "refusal"> {
  const pageCount = pageCountOf(pages);
  const billable = delivered && pageCount !== null && pageCount >= 1;
  return { pageCount, billable, refusal: delivered && !billable ? "INVALID_PAGE_COUNT" : null };
}
