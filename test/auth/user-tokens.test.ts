import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { api } from "../helpers/api";

const now = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown>, secret = env.JWT_SECRET) =>
  sign({ sub: "token-subject", exp: now() + 600, ...claims }, secret, "HS256");

/** The app with extra configuration (JWT_ISSUER, JWT_AUDIENCE) over the test bindings. */
async function callWith(vars: Partial<Env>, bearer: string) {
  const res = await createApp().request("/v1/me/features", { headers: { authorization: `Bearer ${bearer}` } }, { ...env, ...vars });
  return { status: res.status, body: (await res.json()) as any };
}

describe("user tokens", () => {
  it("tells an expired token from a forged one", async () => {
    const expired = await api("GET", "/v1/me/features", { token: await token({ exp: now() - 5 }) });
    expect(expired.status).toBe(401);
    expect(expired.body.error.details).toEqual({ reason: "expired" });
    expect(expired.body.error.message).toMatch(/expired/);

    const forged = await api("GET", "/v1/me/features", { token: await token({}, "not-the-secret") });
    expect(forged.status).toBe(401);
    expect(forged.body.error.details).toEqual({ reason: "invalid_signature" });
    expect(forged.body.error.message).not.toMatch(/expired/);
  });

  it("says nothing about the claims of a forged token, expired or not", async () => {
    for (const claims of [{ exp: now() - 5 }, { nbf: now() + 600 }, { iss: "evil" }]) {
      const res = await api("GET", "/v1/me/features", { token: await token(claims, "not-the-secret") });
      expect(res.body.error.details, JSON.stringify(claims)).toEqual({ reason: "invalid_signature" });
    }
  });

  it("refuses malformed tokens, tokens of another algorithm and tokens without sub or exp", async () => {
    const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replaceAll("=", "");
    const payload = btoa(JSON.stringify({ sub: "x", exp: now() + 600 })).replaceAll("=", "");
    const cases: [string, string][] = [
      [`${header}.${payload}.`, "invalid_signature"],
      ["a.b.c", "invalid_signature"],
      ["not-a-token", "unknown_token"],
      [await sign({ exp: now() + 600 }, env.JWT_SECRET, "HS256"), "missing_claims"],
      [await sign({ sub: "x" }, env.JWT_SECRET, "HS256"), "missing_claims"],
      [await sign({ sub: "", exp: now() + 600 }, env.JWT_SECRET, "HS256"), "missing_claims"],
      [await token({ nbf: now() + 600 }), "not_yet_valid"],
      [await sign({ sub: "x", exp: now() + 600 }, env.JWT_SECRET, "HS512"), "invalid_signature"],
    ];
    for (const [bearer, reason] of cases) {
      const res = await api("GET", "/v1/me/features", { token: bearer });
      expect(res.status, bearer).toBe(401);
      expect(res.body.error.details, bearer).toEqual({ reason });
    }
  });

  it("checks iss when JWT_ISSUER is set", async () => {
    const vars = { JWT_ISSUER: "https://auth.example.com" };
    expect((await callWith(vars, await token({ iss: "https://auth.example.com" }))).status).toBe(200);
    for (const claims of [{}, { iss: "https://evil.example.com" }]) {
      const res = await callWith(vars, await token(claims));
      expect(res.status).toBe(401);
      expect(res.body.error.details).toEqual({ reason: "wrong_issuer" });
    }
    // Without the setting, iss is not looked at.
    expect((await callWith({}, await token({ iss: "anyone" }))).status).toBe(200);
  });

  it("checks aud when JWT_AUDIENCE is set, a single audience or a list", async () => {
    const vars = { JWT_AUDIENCE: "tally" };
    expect((await callWith(vars, await token({ aud: "tally" }))).status).toBe(200);
    expect((await callWith(vars, await token({ aud: ["billing", "tally"] }))).status).toBe(200);
    for (const claims of [{}, { aud: "billing" }, { aud: ["billing"] }]) {
      const res = await callWith(vars, await token(claims));
      expect(res.status).toBe(401);
      expect(res.body.error.details).toEqual({ reason: "wrong_audience" });
    }
  });
});
