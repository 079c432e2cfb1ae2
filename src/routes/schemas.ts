import { z } from "@hono/zod-openapi";
import { ERROR_CODES } from "../domain/errors";
import { CanonicalEventInput, SeedPantryLogInput, SeedRecordUsageInput, SeedUsageMessageInput } from "../domain/usage-event";

/** Response and shared request shapes, named once for the OpenAPI document. */
export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      requestId: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export const EventSchema = z
  .object({
    id: z.string(),
    subjectId: z.string(),
    meter: z.string(),
    unit: z.string(),
    amount: z.number(),
    timestamp: z.string().openapi({ format: "date-time" }),
    receivedAt: z.string().openapi({ format: "date-time" }),
    source: z.string(),
    idempotencyKey: z.string().nullable(),
    dimensions: z.record(z.string(), z.string()),
    metadata: z.record(z.string(), z.unknown()),
    voidedAt: z
      .string()
      .nullable()
      .openapi({ format: "date-time", description: "When the event was voided or amended; null while it counts" }),
    voidReason: z.string().nullable(),
  })
  .openapi("UsageEvent");

export const EventInputSchema = z
  .union([
    CanonicalEventInput.openapi("UsageEventInput"),
    SeedRecordUsageInput.openapi("SeedRecordUsage"),
    SeedUsageMessageInput.openapi("SeedUsageMessage"),
    SeedPantryLogInput.openapi("SeedPantryLog"),
  ])
  .openapi("AnyUsageEventInput");

export const BatchInputSchema = z.object({ events: z.array(EventInputSchema).min(1).max(1000) }).openapi("UsageBatchInput");

export const IdempotencyHeaderSchema = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ description: "Used as idempotencyKey for events that carry none (suffixed with ':<index>' in a batch)." }),
});

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { content: { "application/json": { schema } }, required: true } };
}

/** The error answers every authenticated route may give. */
export function errorResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Invalid input (VALIDATION_FAILED, INVALID_JSON)",
    401: "No or invalid credentials",
    403: "Wrong scope or another subject",
    404: "Not found",
    409: "Conflict",
    413: "Body over 1 MB",
    415: "Body is not JSON",
    422: "UNKNOWN_METER, UNIT_MISMATCH or TIMESTAMP_OUT_OF_RANGE",
    503: "Ledger unavailable; retry with the same idempotency key",
  };
  return Object.fromEntries([400, 401, 403, ...statuses].map((s) => [s, json(ErrorEnvelopeSchema, descriptions[s] ?? "Error")]));
}

/** The 503 of a configuration PUT: D1 has the change, a ledger does not yet. */
export const configurationNotPushed = {
  503: json(
    ErrorEnvelopeSchema,
    "LEDGER_UNAVAILABLE: saved, but a subject's ledger did not take it; retrying the same PUT pushes it again",
  ),
};

export const bearerAuth = [{ bearerAuth: [] }];

/** `includeVoided=true` counts and lists voided events too (they are left out by default). */
export const IncludeVoidedParam = z
  .enum(["true", "false"])
  .optional()
  .transform((v) => v === "true")
  .openapi({ type: "string", enum: ["true", "false"], description: "Include voided events (default false)" });
