import type { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { DomainError } from "../domain/errors";
import { SCOPES, type Scope } from "../domain/scopes";
import type { AppEnv, Principal } from "./app-env";

/** Who a route lets in, read from its OpenAPI `security`. */
export interface RouteAccess {
  /** The scope an API key needs; null when any API key will do; undefined when API keys may not call it. */
  keyScope: Scope | null | undefined;
  /** Whether user tokens may call it (for their own subject, checked by the handler). */
  users: boolean;
}

/** The root key only: what a `/v1` route that declares nothing gets. */
const ROOT_ONLY: RouteAccess = { keyScope: undefined, users: false };

/**
 * Lets a request through to its route only when the caller may call it, before its input is
 * validated: the route's declared OpenAPI `security` is the rule (`bearerAuth: [scope]` for API
 * keys, `userToken` for user tokens), so what the document says is what is enforced, and a route
 * that declares nothing is for the root key alone.
 */
export function authorise(app: OpenAPIHono<AppEnv>): MiddlewareHandler<AppEnv> {
  let table: Map<string, RouteAccess> | undefined;
  return async (c, next) => {
    table ??= accessTable(app);
    const route = matchedRoutes(c).find((r) => r.method !== "ALL");
    if (route) admit(c.get("principal"), table.get(`${route.method} ${route.path}`) ?? ROOT_ONLY);
    await next();
  };
}

function admit(principal: Principal, access: RouteAccess): void {
  if (principal.kind === "root") return;
  if (principal.kind === "user") {
    if (access.users) return;
    throw new DomainError("FORBIDDEN", "User tokens read only their own subject; this needs an API key.");
  }
  if (access.keyScope === null || (access.keyScope !== undefined && principal.scopes.includes(access.keyScope))) return;
  if (access.keyScope === undefined) throw new DomainError("FORBIDDEN", "This route takes a user token (or the root key), not an API key.");
  throw new DomainError("FORBIDDEN", `This API key lacks the '${access.keyScope}' scope.`, { requiredScope: access.keyScope });
}

/** `METHOD /hono/:path` → access, for every route in the OpenAPI registry. */
export function accessTable(app: OpenAPIHono<AppEnv>): Map<string, RouteAccess> {
  const table = new Map<string, RouteAccess>();
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route") continue;
    const { method, path, security } = definition.route;
    table.set(`${method.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ":$1")}`, routeAccess(security ?? []));
  }
  return table;
}

export function routeAccess(security: Record<string, string[]>[]): RouteAccess {
  let keyScope: RouteAccess["keyScope"];
  let users = false;
  for (const requirement of security) {
    if ("userToken" in requirement) users = true;
    const scopes = requirement.bearerAuth;
    if (scopes === undefined) continue;
    const [scope] = scopes;
    if (scopes.length > 1 || (scope !== undefined && !SCOPES.includes(scope as Scope))) {
      throw new Error(`A route declares scopes ${JSON.stringify(scopes)}; one known scope or none.`);
    }
    keyScope = (scope as Scope | undefined) ?? null;
  }
  return { keyScope, users };
}
