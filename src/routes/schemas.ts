import type { Scope } from "../domain/scopes";
import { createRoute as createOpenApiRoute, type RouteConfig, z } from "@hono/zod-openapi";
import { ERROR_CODES } from "../domain/errors";
import { wellFormedString } from "../domain/well-formed";
import { invalidField } from "../http/errors";
import {
  CanonicalEventInput,
  DimensionName,
  DimensionValue,
  SeedPantryLogInput,
  SeedRecordUsageInput,
  SeedUsageMessageInput,
} from "../domain/usage-event";

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
    grantDraws: z
      .array(z.object({ grantId: z.string(), amount: z.number() }))
      .openapi({ description: "The grants the event drew on past the period allowance, in draw order; empty when none" }),
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

export const BatchInputSchema = z.strictObject({ events: z.array(EventInputSchema).min(1).max(1000) }).openapi("UsageBatchInput");

export const IdempotencyHeaderSchema = z.object({
  "idempotency-key": wellFormedString()
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
    422: "UNKNOWN_METER, UNIT_MISMATCH, TIMESTAMP_OUT_OF_RANGE or HISTORY_ARCHIVED",
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

type Security = Record<string, string[]>[];

/** Any caller: the root key, any API key, any user token. */
export const bearerAuth: Security = [{ bearerAuth: [] }, { userToken: [] }];

/** User tokens only (`/v1/me/…`), and the root key. */
export const userTokenOnly: Security = [{ userToken: [] }];

/**
 * Who may call a route, as `authorise` (src/http/route-access.ts) enforces it: the root key, an
 * API key holding `scope`, and with `users`, a user token (for its own subject: the handler checks).
 */
export function requiresScope(scope: Scope, options: { users?: boolean } = {}): Security {
  return options.users ? [{ bearerAuth: [scope] }, { userToken: [] }] : [{ bearerAuth: [scope] }];
}

/** A `true` / `false` query parameter, false when left out. */
export function booleanQueryFlag(description: string) {
  return z
    .enum(["true", "false"])
    .optional()
    .transform((v) => v === "true")
    .openapi({ type: "string", enum: ["true", "false"], description });
}

/** `includeVoided=true` counts and lists voided events too (they are left out by default). */
export const IncludeVoidedParam = booleanQueryFlag("Include voided events (default false)");

/** `limit` and `cursor` of a list (1–500, default 100); the cursor is checked where it is decoded. */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(500).optional(),
};

/** Query schemas built by queryParameters; createRoute refuses any other. */
const strictQueries = new WeakSet<object>();

/**
 * A route's query parameters: the named ones and nothing else, so a misspelt filter
 * (`subjectID`, `meterr`) is a 400 rather than silently ignored. With `dimensionFilters`,
 * `dimension.<name>` parameters pass too; their names and values are checked where they are read.
 */
export function queryParameters<Shape extends z.ZodRawShape>(shape: Shape, options: { dimensionFilters?: boolean } = {}) {
  // Loose, then refined: a strict object could not let `dimension.*` through.
  const schema = z.looseObject(shape).superRefine((query, ctx) => {
    const unknown = Object.keys(query).filter(
      (key) => !Object.hasOwn(shape, key) && !(options.dimensionFilters && key.startsWith("dimension.")),
    );
    if (unknown.length > 0) ctx.addIssue({ code: "unrecognized_keys", keys: unknown, input: query });
  });
  strictQueries.add(schema);
  return schema;
}

/** A parameter that may be given more than once (`groupBy=meter&groupBy=day`). */
export function repeatable<T extends z.ZodType>(schema: T, maxTimes: number) {
  return z.union([schema, z.array(schema).max(maxTimes)]);
}

const NO_QUERY_PARAMETERS = queryParameters({});

/**
 * createRoute of @hono/zod-openapi, for every API route: a route that declares no query refuses
 * every query parameter, and a declared query must come from queryParameters. (Provider webhooks
 * use the library's own: a provider's delivery must not fail over a parameter in its URL.)
 */
export function createRoute<P extends string, R extends Omit<RouteConfig, "path"> & { path: P }>(config: R) {
  const query = config.request?.query;
  if (query !== undefined && !strictQueries.has(query)) {
    throw new Error(`${config.method} ${config.path}: build its query with queryParameters()`);
  }
  // The added query only refuses; the route's declared types stay as they are.
  return createOpenApiRoute<P, R>({ ...config, request: { ...config.request, query: query ?? NO_QUERY_PARAMETERS } } as R);
}

/**
 * The `dimension.<name>=<value>` filters of a query, each name once. Built from entries, so a
 * name such as `__proto__` is a filter like any other rather than a prototype to assign.
 */
export function parseDimensionFilters(query: Record<string, string[]>): Record<string, string> {
  const filters: [string, string][] = [];
  for (const [key, values] of Object.entries(query)) {
    if (!key.startsWith("dimension.")) continue;
    const name = key.slice("dimension.".length);
    const [value] = values;
    if (!DimensionName.safeParse(name).success || values.length !== 1 || !DimensionValue.safeParse(value).success) {
      throw invalidField(key, "use dimension.<name>=<value> once per name", "invalid_dimension_filter");
    }
    filters.push([name, value!]);
  }
  return Object.fromEntries(filters);
}
