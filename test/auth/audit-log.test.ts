import { describe, expect, it } from "vitest";
import { api } from "../helpers/api";
import { createKey } from "../helpers/api-keys";

type Entry = { id: string; at: string; action: string; actor: { type: string; id: string | null }; target: { type: string; id: string } };

async function allPages(query: string, limit: number): Promise<Entry[]> {
  const entries: Entry[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: { data: Entry[]; nextCursor: string | null } } = await api(
      "GET",
      `/v1/audit-log?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(res.status).toBe(200);
    entries.push(...res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor);
  return entries;
}

describe("GET /v1/audit-log", () => {
  it("pages newest first with no gaps or repeats, and filters by action, actor and target", async () => {
    const admin = await createKey(["admin"], { name: "auditor" });
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await createKey(["usage:read"], { name: `paged ${i}` })).id);
    const byKey: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await api("POST", "/v1/api-keys", { body: { name: `by key ${i}`, scopes: ["usage:read"] }, token: admin.secret });
      byKey.push(res.body.apiKey.id);
    }

    const created = await allPages("action=api_key.create", 3);
    expect(new Set(created.map((e) => e.id)).size).toBe(created.length);
    const order = created.map((e) => e.target.id);
    const mine = [...made, ...byKey].reverse();
    expect(order.filter((id) => mine.includes(id))).toEqual(mine);
    for (let i = 1; i < created.length; i++) expect(created[i - 1]!.at >= created[i]!.at).toBe(true);

    const asKey = await allPages(`actorType=api_key&actorId=${admin.id}`, 2);
    expect(asKey.map((e) => e.target.id)).toEqual([...byKey].reverse());
    const one = await allPages(`targetType=api_key&targetId=${made[3]}`, 10);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ action: "api_key.create", actor: { type: "root", id: null } });
  });

  it("filters by time: from inclusive, to exclusive", async () => {
    const before = new Date(Date.now() - 1).toISOString();
    const key = await createKey(["usage:read"]);
    const entries = await allPages(`targetId=${key.id}&from=${encodeURIComponent(before)}`, 10);
    expect(entries).toHaveLength(1);
    expect(await allPages(`targetId=${key.id}&to=${encodeURIComponent(before)}`, 10)).toEqual([]);
    expect(await allPages(`targetId=${key.id}&to=${encodeURIComponent(entries[0]!.at)}`, 10)).toEqual([]);
    expect(await allPages(`targetId=${key.id}&from=${encodeURIComponent(entries[0]!.at)}`, 10)).toHaveLength(1);
  });

  it("refuses invalid filters and cursors with 400", async () => {
    for (const query of [
      "actorType=user",
      "limit=0",
      "limit=501",
      "from=yesterday",
      "cursor=abc",
      "cursor=WyJwbGFucyIsWyJ4Il1d", // a plans cursor
      `targetId=${"x".repeat(301)}`,
      "unknown=1",
    ]) {
      const res = await api("GET", `/v1/audit-log?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("treats filter values as data, not patterns or names", async () => {
    for (const value of ["%", "_", "' OR 1=1 --", "__proto__", "constructor", "😀"]) {
      const res = await api("GET", `/v1/audit-log?action=${encodeURIComponent(value)}&targetId=${encodeURIComponent(value)}`);
      expect(res.status, value).toBe(200);
      expect(res.body.data).toEqual([]);
    }
  });
});
