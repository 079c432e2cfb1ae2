import type { Context, MiddlewareHandler } from "hono";
import { verify } from "hono/jwt";
import { JwtPayloadRequiresAud, JwtTokenAudience, JwtTokenExpired, JwtTokenIssuer, JwtTokenNotBefore } from "hono/utils/jwt/types";
import type { AuditContext } from "../domain/audit";
import { DomainError } from "../domain/errors";
import { API_KEY_PREFIX, verifyApiKey } from "../services/verify-api-key";
import type { AppEnv, Principal } from "./app-env";

/**
 * Resolves the caller from `Authorization: Bearer …`: the root key (compared in constant time), an
 * API key (`tly_…`, looked up by its hash), or a user JWT (HS256, `sub` = subject, `exp` required,
 * `iss`/`aud` when configured). A missing secret is a configuration error, never an open door.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const serviceKey = c.env.SERVICE_API_KEY;
    const jwtSecret = c.env.JWT_SECRET;
    if (!serviceKey || !jwtSecret) {
      throw new DomainError("CONFIGURATION_ERROR", "SERVICE_API_KEY and JWT_SECRET must be configured (see .dev.vars.example).");
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!token) throw new DomainError("UNAUTHORIZED", "Send 'Authorization: Bearer <API key or user token>'.");

    if (await constantTimeEqual(token, serviceKey)) {
      c.set("principal", { kind: "root" });
    } else if (token.startsWith(API_KEY_PREFIX)) {
      const key = await verifyApiKey(c.env, token, (work) => c.executionCtx.waitUntil(work));
      c.set("principal", { kind: "api_key", keyId: key.id, scopes: key.scopes });
    } else {
      c.set("principal", await verifyUserToken(token, c.env));
    }
    await next();
  };
}

async function verifyUserToken(token: string, env: Env): Promise<Principal> {
  const refuse = (reason: string, message: string) => new DomainError("UNAUTHORIZED", message, { reason });
  if (token.split(".").length !== 3) {
    throw refuse("unknown_token", "The bearer token is neither an API key nor a user token.");
  }
  // The signature first, so a forged token learns nothing about which of its claims would pass.
  try {
    await verify(token, env.JWT_SECRET, { alg: "HS256", exp: false, nbf: false, iat: false });
  } catch {
    throw refuse("invalid_signature", "The user token is malformed or its signature does not verify.");
  }
  let payload: Awaited<ReturnType<typeof verify>>;
  try {
    payload = await verify(token, env.JWT_SECRET, {
      alg: "HS256",
      ...(env.JWT_ISSUER ? { iss: env.JWT_ISSUER } : {}),
      ...(env.JWT_AUDIENCE ? { aud: env.JWT_AUDIENCE } : {}),
    });
  } catch (error) {
    if (error instanceof JwtTokenExpired) throw refuse("expired", "The user token has expired; get a new one.");
    if (error instanceof JwtTokenNotBefore) throw refuse("not_yet_valid", "The user token is not valid yet (nbf).");
    if (error instanceof JwtTokenIssuer) throw refuse("wrong_issuer", "The user token's issuer (iss) is not the one this service accepts.");
    if (error instanceof JwtTokenAudience || error instanceof JwtPayloadRequiresAud) {
      throw refuse("wrong_audience", "The user token's audience (aud) does not include this service.");
    }
    throw refuse("invalid_claims", "The user token's claims are invalid.");
  }
  if (typeof payload.sub !== "string" || payload.sub.length === 0 || typeof payload.exp !== "number") {
    throw refuse("missing_claims", "The user token needs a non-empty 'sub' and an 'exp'.");
  }
  return { kind: "user", subjectId: payload.sub };
}

async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  // Hash both sides first so the comparison takes the same time whatever the lengths.
  const encoder = new TextEncoder();
  const [x, y] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(x, y);
}

/**
 * Calls about one subject. `authorise` has already admitted the caller to the route (the root
 * key, or an API key with its scope, or a user token where the route takes one); a user token
 * must be for this very subject.
 */
export function requireSubjectAccess(c: Context<AppEnv>, subjectId: string | undefined): void {
  const principal = c.get("principal");
  if (principal.kind === "user" && (subjectId === undefined || principal.subjectId !== subjectId)) {
    throw new DomainError("FORBIDDEN", "A user token reads only its own subject.");
  }
}

/** `/v1/me/…`: the subject of a user token. */
export function requireUserSubject(c: Context<AppEnv>): string {
  const principal = c.get("principal");
  if (principal.kind !== "user") throw new DomainError("FORBIDDEN", "/v1/me needs a user token.");
  return principal.subjectId;
}

/** Who is writing, for the audit log. Only the root key and API keys reach configuration writes. */
export function auditContext(c: Context<AppEnv>): AuditContext {
  const principal = c.get("principal");
  const requestId = c.get("requestId") ?? null;
  if (principal.kind === "api_key") return { actor: { type: "api_key", id: principal.keyId }, requestId };
  if (principal.kind === "root") return { actor: { type: "root", id: null }, requestId };
  throw new DomainError("FORBIDDEN", "User tokens do not change configuration.");
}
