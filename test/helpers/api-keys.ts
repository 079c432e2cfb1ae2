import type { Scope } from "../../src/domain/scopes";
import { api } from "./api";

/** Creates an API key with the root key; answers its id and secret. */
export async function createKey(
  scopes: Scope[],
  extra: { name?: string; expiresAt?: string } = {},
): Promise<{ id: string; secret: string }> {
  const res = await api("POST", "/v1/api-keys", { body: { name: extra.name ?? `key ${scopes.join(" ")}`, scopes, ...extra } });
  if (res.status !== 201) throw new Error(`creating a key: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.apiKey.id, secret: res.body.secret };
}
