import { z } from "zod";
import { hasAtMostFourDecimals, MAX_AMOUNT } from "./amount";
import type { GaugeOperation } from "./event-rules";
import type { JsonValue } from "./stored-event";
import { malformedTextPath, NOT_WELL_FORMED, wellFormedString } from "./well-formed";

/** Limits on what one event may carry. */
export const MAX_METADATA_BYTES = 8 * 1024;
export const MAX_DIMENSIONS = 32;

export const SubjectId = wellFormedString()
  .min(1)
  .max(200)
  .regex(/^[^\s/\\\p{Cc}]+$/u, "must not contain whitespace, slashes or control characters");
export const MeterKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "letters, digits, '_', '.', '-'; at most 64 characters");
export const Unit = wellFormedString().min(1).max(32);
export const IdempotencyKey = wellFormedString().min(1).max(256);
export const Amount = z.number().min(0).max(MAX_AMOUNT).refine(hasAtMostFourDecimals, "must have at most 4 decimal places");
/** Letters, digits and '_'; a leading '_' too, so names such as `__proto__` are data like any other. */
export const DimensionName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "letters, digits and '_'");
export const DimensionValue = wellFormedString().max(256);

/**
 * A JSON object, its own keys taken as they are. z.record would drop a `__proto__` key without a
 * word, so maps of caller-chosen names are checked entry by entry instead.
 */
export const jsonObject = <T>() =>
  z.custom<Record<string, T>>((value) => typeof value === "object" && value !== null && !Array.isArray(value), "must be a JSON object");

/** Reports a schema's issues on one entry of a map, under the entry's key. */
export function checkEntry(schema: z.ZodType, value: unknown, path: (string | number)[], ctx: z.RefinementCtx): void {
  for (const issue of schema.safeParse(value).error?.issues ?? []) {
    ctx.addIssue({ code: "custom", path: [...path, ...issue.path.map(String)], message: issue.message });
  }
}

export const Dimensions = jsonObject<string>()
  .superRefine((dimensions, ctx) => {
    const entries = Object.entries(dimensions);
    if (entries.length > MAX_DIMENSIONS) ctx.addIssue({ code: "custom", message: `at most ${MAX_DIMENSIONS} dimensions` });
    for (const [name, value] of entries) {
      checkEntry(DimensionName, name, [name], ctx);
      checkEntry(DimensionValue, value, [name], ctx);
    }
  })
  .meta({ type: "object", additionalProperties: { type: "string", maxLength: 256 }, maxProperties: MAX_DIMENSIONS });

export const Metadata = jsonObject<unknown>()
  .superRefine((metadata, ctx) => {
    if (new TextEncoder().encode(JSON.stringify(metadata)).length > MAX_METADATA_BYTES) {
      ctx.addIssue({ code: "custom", message: "at most 8 KB as JSON" });
    }
    const path = malformedTextPath(metadata);
    if (path) ctx.addIssue({ code: "custom", path, message: NOT_WELL_FORMED });
  })
  .meta({ type: "object", additionalProperties: {} });
const IsoTimestamp = z.iso.datetime({ offset: true });

/**
 * The canonical event (DESIGN §3). Every accepted shape, legacy ones included, refuses unknown
 * fields: a misspelt `ammount` must not bill 1, and a stray `userId` must not make a canonical
 * event pass as a seed shape billed to someone else.
 */
export const CanonicalEventInput = z.strictObject({
  idempotencyKey: IdempotencyKey.optional(),
  subjectId: SubjectId,
  meter: MeterKey,
  amount: Amount.optional(),
  unit: Unit.optional(),
  timestamp: IsoTimestamp.optional(),
  dimensions: Dimensions.optional(),
  metadata: Metadata.optional(),
});

// Legacy producers send numbers as strings now and then (NUMERIC columns, form posts).
const LegacyAmount = z.union([
  Amount,
  z
    .string()
    .regex(/^\d+(\.\d{1,4})?$/)
    .transform(Number)
    .pipe(Amount),
]);
const LegacyId = z.union([wellFormedString().min(1).max(200), z.number().int().nonnegative()]).transform(String);
// Seed databases wrote `2024-01-15 10:30:00` (UTC, no zone) as well as ISO-8601.
const LegacyTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$/, "must be an ISO-8601 date-time")
  .refine((s) => !Number.isNaN(parseLegacyTime(s)), "must be a valid date-time");

/** Seed `recordUsage({ userId, type, unitType, usageAmount, timestamp, metadata })`. */
export const SeedRecordUsageInput = z.strictObject({
  userId: LegacyId.pipe(SubjectId),
  type: MeterKey,
  unitType: Unit.optional(),
  usageAmount: LegacyAmount,
  timestamp: LegacyTimestamp.optional(),
  metadata: Metadata.optional(),
});

/** Seed usage-event queue message `{ userId, entitlementKey, amount?, idempotencyKey?, metadata? }`. */
export const SeedUsageMessageInput = z.strictObject({
  userId: LegacyId.pipe(SubjectId),
  entitlementKey: MeterKey,
  amount: LegacyAmount.optional(),
  idempotencyKey: IdempotencyKey.optional(),
  metadata: Metadata.optional(),
});

/** Seed pantry log row. The pantry is the subject; LogID makes the row idempotent. */
export const SeedPantryLogInput = z.strictObject({
  LogID: LegacyId,
  PantryID: LegacyId.pipe(SubjectId),
  SchoolID: LegacyId.optional(),
  DateTimeOfUse: LegacyTimestamp,
  NumberOfItemsTaken: LegacyAmount,
  ItemType: wellFormedString().min(1).max(256).optional(),
  UserID: LegacyId.optional(),
});

export const UsageEventInput = z.union([CanonicalEventInput, SeedRecordUsageInput, SeedUsageMessageInput, SeedPantryLogInput]);
export type UsageEventInput = z.infer<typeof UsageEventInput>;

/** An event in canonical form, before it is checked against meters and the clock. */
export interface EventDraft {
  idempotencyKey?: string;
  subjectId: string;
  meter: string;
  amount: number;
  unit?: string;
  /** Epoch ms as sent by the caller; absent means "now". */
  timestamp?: number;
  dimensions: Record<string, string>;
  metadata: Record<string, JsonValue>;
  /** Gauge moves only; events are "add" otherwise. */
  operation?: GaugeOperation;
}

/** Request bodies are parsed JSON, so their metadata is JSON by construction. */
const asJson = (metadata: Record<string, unknown> | undefined) => (metadata ?? {}) as Record<string, JsonValue>;

export function toEventDraft(input: UsageEventInput): EventDraft {
  if ("subjectId" in input) {
    return compact({
      idempotencyKey: input.idempotencyKey,
      subjectId: input.subjectId,
      meter: input.meter,
      amount: input.amount ?? 1,
      unit: input.unit,
      timestamp: input.timestamp === undefined ? undefined : Date.parse(input.timestamp),
      dimensions: input.dimensions ?? {},
      metadata: asJson(input.metadata),
    });
  }
  if ("usageAmount" in input) {
    return compact({
      subjectId: input.userId,
      meter: input.type,
      amount: input.usageAmount,
      unit: input.unitType,
      timestamp: input.timestamp === undefined ? undefined : parseLegacyTime(input.timestamp),
      dimensions: {},
      metadata: asJson(input.metadata),
    });
  }
  if ("entitlementKey" in input) {
    return compact({
      idempotencyKey: input.idempotencyKey,
      subjectId: input.userId,
      meter: input.entitlementKey,
      amount: input.amount ?? 1,
      dimensions: {},
      metadata: asJson(input.metadata),
    });
  }
  const dimensions: Record<string, string> = {};
  if (input.SchoolID !== undefined) dimensions.schoolId = input.SchoolID;
  if (input.ItemType !== undefined) dimensions.itemType = input.ItemType;
  if (input.UserID !== undefined) dimensions.userId = input.UserID;
  return {
    idempotencyKey: `pantry-log:${input.LogID}`,
    subjectId: input.PantryID,
    meter: "pantry_items",
    amount: input.NumberOfItemsTaken,
    timestamp: parseLegacyTime(input.DateTimeOfUse),
    dimensions,
    metadata: { logId: input.LogID },
  };
}

/** ISO-8601 with or without a zone; a time without a zone is UTC. */
export function parseLegacyTime(value: string): number {
  const iso = value.replace(" ", "T");
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(iso);
  return Date.parse(hasZone ? iso : `${iso}Z`);
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
