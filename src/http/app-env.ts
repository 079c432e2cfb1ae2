import type { RequestIdVariables } from "hono/request-id";
import type { Scope } from "../domain/scopes";

/**
 * Who is calling: the root key (`SERVICE_API_KEY`, everything), an API key (its scopes), or a
 * user token (reads of its own subject).
 */
export type Principal =
  | { kind: "root" }
  | { kind: "api_key"; keyId: string; scopes: readonly Scope[] }
  | { kind: "user"; subjectId: string };

export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & { principal: Principal };
}
