import { toE4 } from "./amount";
import type { ErrorCode } from "./errors";
import type { JsonValue } from "./stored-event";
import type { EventDraft } from "./usage-event";

export type MeterKind = "counter" | "gauge";

/** How an event moves its meter: counters only add; gauges also remove (never below 0) or set a level. */
export type GaugeOperation = "add" | "remove" | "set";

export interface MeterDefinition {
  key: string;
  unit: string;
  kind: MeterKind;
  /** Epoch ms since when the meter takes no new usage; null while it is live. */
  archivedAt: number | null;
}

/** Accepted event time window (DESIGN §3): a little clock skew ahead, the late-event window behind. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
export const MAX_EVENT_AGE_MS = 35 * 24 * 60 * 60 * 1000;

/** An event that passed every rule and is ready for its subject's ledger. */
export interface ResolvedEvent {
  idempotencyKey: string | null;
  kind: MeterKind;
  operation: GaugeOperation;
  fingerprint: string;
  subjectId: string;
  meter: string;
  unit: string;
  amountE4: number;
  occurredAt: number;
  dimensions: Record<string, string>;
  metadata: Record<string, JsonValue>;
}

export type Resolution =
  | { ok: true; event: ResolvedEvent }
  | {
      ok: false;
      code: Extract<ErrorCode, "UNKNOWN_METER" | "METER_ARCHIVED" | "UNIT_MISMATCH" | "TIMESTAMP_OUT_OF_RANGE" | "NOT_A_GAUGE">;
      message: string;
    };

/**
 * `archived: "accept"` is for usage a provider reports of something that already happened (a
 * delivered fax): archiving a meter stops new usage being asked for, not the bill of work done.
 */
export function resolveEvent(
  draft: EventDraft,
  fingerprint: string,
  meter: MeterDefinition | undefined,
  nowMs: number,
  archived: "refuse" | "accept" = "refuse",
): Resolution {
  if (!meter) {
    return { ok: false, code: "UNKNOWN_METER", message: `Meter '${draft.meter}' is not defined. Define it with PUT /v1/meters/{key}.` };
  }
  if (meter.archivedAt !== null && archived === "refuse") {
    return {
      ok: false,
      code: "METER_ARCHIVED",
      message: `Meter '${meter.key}' is archived: it takes no new usage until it is unarchived.`,
    };
  }
  if (draft.operation !== undefined && draft.operation !== "add" && meter.kind !== "gauge") {
    return { ok: false, code: "NOT_A_GAUGE", message: `Meter '${meter.key}' is a counter; only gauges decrement or set.` };
  }
  if (draft.unit !== undefined && draft.unit !== meter.unit) {
    return {
      ok: false,
      code: "UNIT_MISMATCH",
      message: `Meter '${meter.key}' counts '${meter.unit}', not '${draft.unit}'.`,
    };
  }
  const occurredAt = draft.timestamp ?? nowMs;
  if (occurredAt > nowMs + MAX_FUTURE_SKEW_MS || occurredAt < nowMs - MAX_EVENT_AGE_MS) {
    return {
      ok: false,
      code: "TIMESTAMP_OUT_OF_RANGE",
      message: "timestamp must be at most 5 minutes ahead and at most 35 days behind the server clock.",
    };
  }
  return {
    ok: true,
    event: {
      idempotencyKey: draft.idempotencyKey ?? null,
      kind: meter.kind,
      operation: draft.operation ?? "add",
      fingerprint,
      subjectId: draft.subjectId,
      meter: meter.key,
      unit: meter.unit,
      amountE4: toE4(draft.amount),
      occurredAt,
      dimensions: draft.dimensions,
      metadata: draft.metadata,
    },
  };
}
