import type { Context, MiddlewareHandler } from "hono";
import { verify } from "hono/jwt";
import { DomainError } from "../domain/errors";
import type { AppEnv, Principal } from "./app-env";

/**
 * Resolves the caller from `Authorization: Bearer …`: the service key (compared in constant
 * time) or a user JWT (HS256, `sub` = subject, `exp` required). A missing secret is a
 * configuration error, never an open door.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const serviceKey = c.env.SERVICE_API_KEY;
    const jwtSecret = c.env.JWT_SECRET;
    if (!serviceKey || !jwtSecret) {
      throw new DomainError("CONFIGURATION_ERROR", "SERVICE_API_KEY and JWT_SECRET must be configured (see .dev.vars.example).");
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!token) throw new DomainError("UNAUTHORIZED", "Send 'Authorization: Bearer <service key or user token>'.");

    if (await constantTimeEqual(token, serviceKey)) {
      c.set("principal", { kind: "service" });
    } else {
      c.set("principal", await verifyUserToken(token, jwtSecret));
    }
    await next();
  };
}

async function verifyUserToken(token: string, secret: string): Promise<Principal> {
  const invalid = new DomainError("UNAUTHORIZED", "The bearer token is neither the service key nor a valid user token.");
  if (token.split(".").length !== 3) throw invalid;
  try {
    const payload = await verify(token, secret, "HS256");
    if (typeof payload.sub !== "string" || payload.sub.length === 0 || typeof payload.exp !== "number") throw invalid;
    return { kind: "user", subjectId: payload.sub };
  } catch {
    throw invalid;
  }
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

/** Writes and operator reads: the service key only. */
export function requireService(c: Context<AppEnv>): void {
  if (c.get("principal").kind !== "service") {
    throw new DomainError("FORBIDDEN", "This needs the service key; user tokens are read-only.");
  }
}

/** Reads of one subject: the service key, or a user token for that very subject. */
export function requireSubjectAccess(c: Context<AppEnv>, subjectId: string | undefined): void {
  const principal = c.get("principal");
  if (principal.kind === "service") return;
  if (subjectId === undefined || principal.subjectId !== subjectId) {
    throw new DomainError("FORBIDDEN", "A user token reads only its own subject.");
  }
}
