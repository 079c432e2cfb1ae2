import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { DomainError } from "../domain/errors";
import type { AppEnv } from "./app-env";
import { log } from "./log";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Requests slower than this are logged even when they succeed. */
const SLOW_REQUEST_MS = 1000;

/**
 * A JSON log line, with the request id and nothing from headers or bodies, for every request that
 * failed or was slow. Workers' own invocation logs already record each request; a line per
 * success cost about 30 % of throughput under `wrangler dev` (npm run bench).
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = Date.now();
    await next();
    const durationMs = Date.now() - started;
    if (c.res.status < 400 && durationMs < SLOW_REQUEST_MS) return;
    log(c.res.status >= 500 ? "error" : c.res.status >= 400 ? "warn" : "info", "request", {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs,
    });
  };
}

/** Browsers may call the API from the origins in ALLOWED_ORIGINS (comma-separated). */
export function corsForAllowedOrigins(): MiddlewareHandler<AppEnv> {
  return cors({
    origin: (origin, c) => {
      const allowed = String(c.env.ALLOWED_ORIGINS ?? "")
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean);
      return allowed.includes(origin) ? origin : null;
    },
    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
    allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    exposeHeaders: ["X-Request-Id", "Retry-After"],
    maxAge: 600,
  });
}

export function limitBody(): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new DomainError("PAYLOAD_TOO_LARGE", "The body is over 1 MB; split it into smaller batches.");
    },
  });
}

/**
 * Writes take JSON only: a body declared as anything else is 415 before it is read. A request
 * that declares no type passes on (bodiless actions; a route that needs a body answers 400).
 */
export function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const declared = c.req.header("content-type");
    if (["POST", "PUT", "PATCH"].includes(c.req.method) && declared !== undefined && !isJsonMediaType(declared)) {
      throw new DomainError("UNSUPPORTED_MEDIA_TYPE", "Send the body as JSON with 'Content-Type: application/json'.");
    }
    await next();
  };
}

/** RFC 6838 restricted-name characters, which a structured-syntax prefix such as `merge-patch` is made of. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9][a-z0-9!#$&^_.+-]*\+)?json$/;

/**
 * `application/json` or `application/<prefix>+json` (RFC 6839), any case; parameters such as
 * `charset` are ignored. `text/json`, `text/x+json` and `application/+json` are not JSON.
 */
export function isJsonMediaType(contentType: string): boolean {
  const essence = contentType.split(";", 1)[0]!.trim().toLowerCase();
  return JSON_MEDIA_TYPE.test(essence);
}
