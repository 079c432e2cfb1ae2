import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, uniqueSubject } from "../helpers/api";
import { createKey } from "../helpers/api-keys";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function recordWith(token: string, subjectId = uniqueSubject("key")) {
  return api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 1 }, token });
}

describe("API keys", () => {
  it("creates a key whose secret is shown once, starts with tly_ and is stored only as its hash", async () => {
    const res = await api("POST", "/v1/api-keys", { body: { name: "ingest", scopes: ["usage:write", "usage:write"] } });
    expect(res.status).toBe(201);
    const { apiKey, secret } = res.body;
    expect(secret).toMatch(/^tly_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({
      name: "ingest",
      scopes: ["usage:write"],
      prefix: secret.slice(0, 12),
      expiresAt: null,
      revokedAt: null,
    });

    const stored = await env.DB.prepare("SELECT * FROM api_key_secrets WHERE key_id = ?").bind(apiKey.id).all();
    expect(JSON.stringify(stored.results)).not.toContain(secret);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)));
    expect(stored.results[0]!.hash).toBe([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));

    const read = await api("GET", `/v1/api-keys/${apiKey.id}`);
    expect(read.body.apiKey).toEqual(apiKey);
    const listed = await api("GET", "/v1/api-keys?limit=500");
    expect(JSON.stringify(listed.body)).not.toContain(secret.slice(12));
    expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(apiKey.id);
  });

  it("refuses bad input with 400 and writes nothing", async () => {
    const before = (await env.DB.prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>())!.n;
    for (const body of [
      {},
      { name: "x", scopes: [] },
      { name: "x", scopes: ["root"] },
      { name: "x", scopes: ["admin"], expiresAt: "2020-01-01T00:00:00Z" },
      { name: "x", scopes: ["admin"], extra: 1 },
      { name: "\ud800", scopes: ["admin"] },
      { name: "x", scopes: ["__proto__"] },
    ]) {
      const res = await api("POST", "/v1/api-keys", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await env.DB.prepare("SELECT count(*) AS n FROM api_keys").first<{ n: number }>())!.n).toBe(before);
  });

  it("answers 401 to an unknown tly_ key and 404 to an unknown id", async () => {
    const res = await recordWith("tly_thisisnotakeythisisnotakeythisisnotakey1234");
    expect(res.status).toBe(401);
    expect(res.body.error.details).toEqual({ reason: "unknown_key" });
    expect((await api("GET", "/v1/api-keys/key_nope")).status).toBe(404);
    expect((await api("DELETE", "/v1/api-keys/key_nope")).status).toBe(404);
    expect((await api("POST", "/v1/api-keys/key_nope/roll", { body: {} })).status).toBe(404);
  });

  it("is refused with 401 as soon as it is revoked, and a second revoke answers the same key", async () => {
    const key = await createKey(["usage:write"]);
    expect((await recordWith(key.secret)).status).toBe(201);
    const revoked = await api("DELETE", `/v1/api-keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.apiKey.revokedAt).not.toBeNull();
    const res = await recordWith(key.secret);
    expect(res.status).toBe(401);
    expect(res.body.error.details).toEqual({ reason: "revoked" });
    const again = await api("DELETE", `/v1/api-keys/${key.id}`);
    expect(again.body.apiKey).toEqual(revoked.body.apiKey);
    expect((await api("POST", `/v1/api-keys/${key.id}/roll`, { body: {} })).status).toBe(409);

    const listed = await api("GET", "/v1/api-keys?limit=500");
    expect(listed.body.data.map((k: { id: string }) => k.id)).not.toContain(key.id);
    const withRevoked = await api("GET", "/v1/api-keys?limit=500&includeRevoked=true");
    expect(withRevoked.body.data.map((k: { id: string }) => k.id)).toContain(key.id);
  });

  it("rolls to a new secret: the old one works for the overlap, then only the new one", async () => {
    const key = await createKey(["usage:write"]);
    const rolled = await api("POST", `/v1/api-keys/${key.id}/roll`, { body: { overlapSeconds: 1 } });
    expect(rolled.status).toBe(200);
    expect(rolled.body.apiKey.id).toBe(key.id);
    expect(rolled.body.secret).not.toBe(key.secret);
    expect(rolled.body.apiKey.prefix).toBe(rolled.body.secret.slice(0, 12));
    expect((await recordWith(key.secret)).status).toBe(201);
    expect((await recordWith(rolled.body.secret)).status).toBe(201);
    await sleep(1_100);
    const old = await recordWith(key.secret);
    expect(old.status).toBe(401);
    expect(old.body.error.details).toEqual({ reason: "expired" });
    expect((await recordWith(rolled.body.secret)).status).toBe(201);
  });

  it("rolls with no overlap by default: the old secret stops at once", async () => {
    const key = await createKey(["usage:write"]);
    expect((await recordWith(key.secret)).status).toBe(201);
    const rolled = await api("POST", `/v1/api-keys/${key.id}/roll`);
    expect(rolled.status).toBe(200);
    expect((await recordWith(key.secret)).status).toBe(401);
    expect((await recordWith(rolled.body.secret)).status).toBe(201);
    for (const body of [{ overlapSeconds: -1 }, { overlapSeconds: 604_801 }, { overlapSeconds: 1.5 }, { overlap: 5 }]) {
      expect((await api("POST", `/v1/api-keys/${key.id}/roll`, { body })).status, JSON.stringify(body)).toBe(400);
    }
  });

  it("applies rolls racing each other one after the other: one live secret, shown by the prefix, and every secret handed out still works", async () => {
    const key = await createKey(["usage:write"]);
    const handedOut = [key.secret];
    for (let round = 0; round < 5; round++) {
      const rolls = await Promise.all([0, 1].map(() => api("POST", `/v1/api-keys/${key.id}/roll`, { body: { overlapSeconds: 3600 } })));
      expect(rolls.map((r) => r.status)).toEqual([200, 200]);
      handedOut.push(...rolls.map((r) => r.body.secret as string));
      const { results } = await env.DB.prepare("SELECT hash FROM api_key_secrets WHERE key_id = ? AND expires_at IS NULL")
        .bind(key.id)
        .all<{ hash: string }>();
      expect(results).toHaveLength(1);
      const prefix = (await api("GET", `/v1/api-keys/${key.id}`)).body.apiKey.prefix;
      const current = handedOut.find((secret) => secret.startsWith(prefix))!;
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(current)));
      expect(results[0]!.hash).toBe([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
    }
    for (const secret of handedOut) expect((await recordWith(secret)).status).toBe(201);
  });

  it("stops working at its expiresAt", async () => {
    const key = await createKey(["usage:write"], { expiresAt: new Date(Date.now() + 1_000).toISOString() });
    expect((await recordWith(key.secret)).status).toBe(201);
    await sleep(1_100);
    const res = await recordWith(key.secret);
    expect(res.status).toBe(401);
    expect(res.body.error.details).toEqual({ reason: "expired" });
  });

  it("records when it was last used, without a write per request", async () => {
    const key = await createKey(["usage:write"]);
    expect((await api("GET", `/v1/api-keys/${key.id}`)).body.apiKey.lastUsedAt).toBeNull();
    for (let i = 0; i < 3; i++) expect((await recordWith(key.secret)).status).toBe(201);
    let lastUsedAt: string | null = null;
    for (let waited = 0; waited < 2_000 && lastUsedAt === null; waited += 50) {
      await sleep(50);
      lastUsedAt = (await api("GET", `/v1/api-keys/${key.id}`)).body.apiKey.lastUsedAt;
    }
    expect(lastUsedAt).not.toBeNull();
  });

  it("is logged in the audit log as the actor of what it changes", async () => {
    const admin = await createKey(["admin"]);
    const res = await api("PUT", "/v1/plans/audited-by-key", { body: { entitlements: {} }, token: admin.secret });
    expect(res.status).toBe(201);
    const log = await api("GET", "/v1/audit-log?targetType=plan&targetId=audited-by-key");
    expect(log.body.data[0]).toMatchObject({ action: "plan.put", actor: { type: "api_key", id: admin.id } });
    const created = await api("GET", `/v1/audit-log?targetType=api_key&targetId=${admin.id}`);
    expect(created.body.data).toHaveLength(1);
    expect(created.body.data[0]).toMatchObject({ action: "api_key.create", actor: { type: "root", id: null }, before: null });
    expect(JSON.stringify(created.body)).not.toContain(admin.secret);
  });
});
