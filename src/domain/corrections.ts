import { z } from "zod";
import { fromE4 } from "./amount";
import { DomainError } from "./errors";
import { MAX_EVENT_AGE_MS } from "./event-rules";
import type { StoredEvent } from "./stored-event";
import { Amount, Dimensions, type EventDraft, Metadata, MeterKey, Unit } from "./usage-event";
import { wellFormedString } from "./well-formed";

const Reason = wellFormedString().min(1).max(500);

export const VoidInput = z.strictObject({ reason: Reason.optional() });
export type VoidInput = z.infer<typeof VoidInput>;

/** What an amendment may correct; the subject stays (void and record anew to move usage to another subject). */
export const AmendInput = z
  .strictObject({
    meter: MeterKey.optional(),
    amount: Amount.optional(),
    unit: Unit.optional(),
    timestamp: z.iso.datetime({ offset: true }).optional(),
    dimensions: Dimensions.optional(),
    metadata: Metadata.optional(),
    reason: Reason.optional(),
  })
  .refine((a) => Object.keys(a).some((k) => k !== "reason"), "give at least one field to correct");
export type AmendInput = z.infer<typeof AmendInput>;

/** An amendment's replacement is recorded under this key, which makes the amendment idempotent. */
export function amendmentKey(eventId: string): string {
  return `amend:${eventId}`;
}

/** Only events the late-event window could still bring can be taken back: older periods are settled. */
export function assertCorrectable(event: StoredEvent, nowMs: number): void {
  if (event.occurredAt < nowMs - MAX_EVENT_AGE_MS) {
    throw new DomainError("TIMESTAMP_OUT_OF_RANGE", "Only events from the last 35 days can be voided or amended.");
  }
}

/** The replacement event an amendment describes: the original with the corrections laid over it. */
export function replacementDraft(original: StoredEvent, corrections: AmendInput): EventDraft {
  return {
    idempotencyKey: amendmentKey(original.id),
    subjectId: original.subjectId,
    meter: corrections.meter ?? original.meter,
    amount: corrections.amount ?? fromE4(original.amountE4),
    ...(corrections.unit === undefined ? {} : { unit: corrections.unit }),
    timestamp: corrections.timestamp === undefined ? original.occurredAt : Date.parse(corrections.timestamp),
    dimensions: corrections.dimensions ?? original.dimensions,
    metadata: (corrections.metadata ?? original.metadata) as EventDraft["metadata"],
    ...(original.operation === "add" ? {} : { operation: original.operation }),
  };
}
