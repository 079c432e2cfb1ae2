/** Every machine-readable error code the service answers with. Status codes live in src/http/errors.ts. */
export const ERROR_CODES = [
  "VALIDATION_FAILED",
  "INVALID_JSON",
  "UNSUPPORTED_MEDIA_TYPE",
  "PAYLOAD_TOO_LARGE",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "IDEMPOTENCY_CONFLICT",
  "METER_IMMUTABLE",
  "FAX_ALREADY_REGISTERED",
  "SIGNATURE_MISSING",
  "SIGNATURE_MALFORMED",
  "SIGNATURE_INVALID",
  "TIMESTAMP_OUT_OF_TOLERANCE",
  "UNKNOWN_METER",
  "UNIT_MISMATCH",
  "TIMESTAMP_OUT_OF_RANGE",
  "HISTORY_ARCHIVED",
  "NOT_A_GAUGE",
  "NOT_A_COUNTER",
  "RESERVATION_NOT_HELD",
  "PLAN_IN_USE",
  "METER_ARCHIVED",
  "API_KEY_REVOKED",
  "LIMIT_EXCEEDED",
  "LEDGER_UNAVAILABLE",
  "CONFIGURATION_ERROR",
  "INTERNAL_ERROR",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure the caller can act on, raised anywhere below the routes and translated once at the edge. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "DomainError";
  }
}
