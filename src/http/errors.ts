import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { DomainError, type ErrorCode } from "../domain/errors";
import { fieldIssues } from "../domain/field-issues";
import type { AppEnv } from "./app-env";
import { log } from "./log";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IDEMPOTENCY_CONFLICT: 409,
  METER_IMMUTABLE: 409,
  FAX_ALREADY_REGISTERED: 409,
  SIGNATURE_MISSING: 401,
  SIGNATURE_MALFORMED: 401,
  SIGNATURE_INVALID: 401,
  TIMESTAMP_OUT_OF_TOLERANCE: 401,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNKNOWN_METER: 422,
  UNIT_MISMATCH: 422,
  TIMESTAMP_OUT_OF_RANGE: 422,
  HISTORY_ARCHIVED: 422,
  NOT_A_GAUGE: 422,
  NOT_A_COUNTER: 422,
  RESERVATION_NOT_HELD: 409,
  PLAN_IN_USE: 409,
  METER_ARCHIVED: 422,
  API_KEY_REVOKED: 409,
  LIMIT_EXCEEDED: 402,
  INTERNAL_ERROR: 500,
  CONFIGURATION_ERROR: 500,
  LEDGER_UNAVAILABLE: 503,
};

/** Codes for the HTTPExceptions Hono and its validators throw (malformed JSON, body limit, media-type gate). */
const HTTP_EXCEPTION_CODES = new Map<number, ErrorCode>([
  [400, "INVALID_JSON"],
  [401, "UNAUTHORIZED"],
  [413, "PAYLOAD_TOO_LARGE"],
  [415, "UNSUPPORTED_MEDIA_TYPE"],
]);

export function statusOf(code: ErrorCode): ContentfulStatusCode {
  return STATUS[code];
}

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string; details?: unknown };
}

export function errorResponse(c: Context<AppEnv>, error: DomainError): Response {
  const body: ErrorEnvelope = {
    error: {
      code: error.code,
      message: error.message,
      requestId: c.get("requestId"),
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
  return c.json(body, statusOf(error.code));
}

/** The one place where anything thrown becomes the error envelope. */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof DomainError) return errorResponse(c, err);
  if (err instanceof HTTPException && err.status < 500) {
    const code = HTTP_EXCEPTION_CODES.get(err.status) ?? "VALIDATION_FAILED";
    return errorResponse(c, new DomainError(code, err.message || "Bad request"));
  }
  log("error", "request.failed", { requestId: c.get("requestId"), path: c.req.path, error: String(err), stack: err.stack });
  return errorResponse(c, new DomainError("INTERNAL_ERROR", "Something went wrong on our side. The request id helps us find it."));
}

/** A 400 for one field or parameter, shaped like a zod issue. */
export function invalidField(path: string, message: string, code = "invalid_value"): DomainError {
  return new DomainError("VALIDATION_FAILED", `Invalid ${path}: ${message}.`, { issues: [{ path, code, message }] });
}

/** Zod issues with their field paths, for `details` of a 400. */
export function validationError(error: z.ZodError, where: string): DomainError {
  return new DomainError("VALIDATION_FAILED", `The ${where} is not valid.`, { issues: fieldIssues(error) });
}
