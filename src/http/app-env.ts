import type { RequestIdVariables } from "hono/request-id";

/** Who is calling: the service key (everything) or a user token (read-only, own subject). */
export type Principal = { kind: "service" } | { kind: "user"; subjectId: string };

export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & { principal: Principal };
}
