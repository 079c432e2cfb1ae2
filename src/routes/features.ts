import { z } from "@hono/zod-openapi";
import type { JsonValue } from "../domain/stored-event";

/** Any JSON value, null included; what a feature may hold is checked where it is written. */
const JsonValueSchema = z
  .custom<JsonValue>((value) => value !== undefined)
  .openapi({ type: ["string", "number", "boolean", "object", "array", "null"], description: "Any JSON value, null included" });

export const FeatureValuesSchema = z.record(z.string(), JsonValueSchema);
