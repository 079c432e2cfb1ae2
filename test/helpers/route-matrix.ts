import { describe, expect, it } from "vitest";
import { api, userToken } from "./api";

/** The subject that `ownPath` routes read with a user token. */
export const OWNER = "owner";

export interface RouteCase {
  name: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path for a subject that the user token below does not own. */
  path: string;
  body?: unknown;
  /** A body that fails validation, for routes that take one. */
  invalidBody?: unknown;
  /** Query or path that fails validation, for read routes. */
  invalidPath?: string;
  /** Expected status of the happy path with the service key. */
  ok: number;
  /** Whether the route is read by users for their own subject (then `ownPath` must work with a token). */
  ownPath?: string;
  /** Sends the same write twice and expects the replay to be answered as a duplicate. */
  replay?: (first: any, second: any) => void;
}

/** The same checks for every route: happy path, invalid input, 401, 403 across subjects, replay. */
export function describeRouteMatrix(cases: RouteCase[]): void {
  for (const route of cases) {
    describe(`${route.method} ${route.name}`, () => {
      it("answers the service key", async () => {
        const res = await api(route.method, route.path, { body: route.body });
        expect(res.status, JSON.stringify(res.body)).toBe(route.ok);
        expect(res.headers.get("x-request-id")).toBeTruthy();
      });

      if (route.invalidBody !== undefined || route.invalidPath !== undefined) {
        it("refuses invalid input with 400 VALIDATION_FAILED", async () => {
          const res = await api(route.method, route.invalidPath ?? route.path, {
            body: route.invalidBody ?? route.body,
          });
          expect(res.status).toBe(400);
          expect(res.body.error.code).toBe("VALIDATION_FAILED");
        });
      }

      it("answers 401 without credentials or with a bad token", async () => {
        for (const token of [null, "not-a-key", await userToken("someone", -60), await userToken("x", 60, "wrong-secret")]) {
          const res = await api(route.method, route.path, { body: route.body, token });
          expect(res.status).toBe(401);
          expect(res.body.error.code).toBe("UNAUTHORIZED");
        }
      });

      it("answers 403 to a user token for another subject", async () => {
        const res = await api(route.method, route.path, { body: route.body, token: await userToken("intruder") });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("FORBIDDEN");
      });

      if (route.ownPath) {
        it("lets a user token read its own subject", async () => {
          const subject = new URL(`http://x${route.ownPath}`).searchParams.get("subjectId") ?? OWNER;
          const res = await api(route.method, route.ownPath!, { body: route.body, token: await userToken(subject) });
          expect(res.status).toBe(200);
        });
      }

      if (route.replay) {
        it("answers a replay as a duplicate", async () => {
          const first = await api(route.method, route.path, { body: route.body });
          const second = await api(route.method, route.path, { body: route.body });
          route.replay!(first, second);
        });
      }
    });
  }
}
