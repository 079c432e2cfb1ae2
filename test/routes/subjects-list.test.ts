import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { idPrefixRange } from "../../src/domain/id-prefix";
import { listSubjects } from "../../src/services/list-subjects";
import { api, userToken } from "../helpers/api";
import { queryPlan, recordingD1 } from "../helpers/d1-recorder";

/** Issue 17: GET /v1/subjects lists subjects with settings in id order, by plan and by a literal id prefix. */

const root = `h${crypto.randomUUID().slice(0, 8)}`;
const [gold, silver] = [`${root}-gold`, `${root}-silver`];

/** Ids a LIKE pattern, a naive upper bound or a prototype lookup would get wrong. */
const IDS = [
  `${root}%a`,
  `${root}%b`,
  `${root}ab`,
  `${root}_a`,
  `${root}xa`,
  `${root}'q`,
  `${root}"q`,
  `${root}''`,
  `${root}\u{1F600}`,
  `${root}\u{1F600}x`,
  `${root}\u{1F601}`,
  `${root}\uD7FFa`,
  `${root}\uE000`,
  `${root}\u{10FFFF}`,
  `${root}\u{10FFFF}\u{10FFFF}z`,
  `${root}日本`,
  "__proto__",
  "__proto__x",
  "__prot",
  "constructor",
];

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const put = (id: string, body: object) => api("PUT", `/v1/subjects/${encodeURIComponent(id)}`, { body });

beforeAll(async () => {
  for (const planId of [gold, silver]) await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit: 5 } } } });
  for (const [i, id] of IDS.entries()) {
    const res = await put(id, { planId: i % 3 === 0 ? gold : i % 3 === 1 ? silver : null });
    expect(res.status, `${id}: ${JSON.stringify(res.body)}`).toBe(201);
  }
});

interface Page {
  status: number;
  body: { data: { subjectId: string; planId: string | null }[]; nextCursor: string | null; error?: { code: string } };
}

async function list(query: Record<string, string>): Promise<Page> {
  const params = new URLSearchParams(query).toString();
  return api("GET", `/v1/subjects${params ? `?${params}` : ""}`);
}

/** Every id the list answers, one page of `limit` at a time. */
async function allIds(query: Record<string, string>, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await list({ ...query, limit: String(limit), ...(cursor ? { cursor } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    ids.push(...res.body.data.map((s) => s.subjectId));
    cursor = res.body.nextCursor;
  } while (cursor !== null && ids.length <= 1000);
  return ids;
}

describe("GET /v1/subjects", () => {
  it("lists every subject in id order, the same whole or a page at a time", async () => {
    const whole = await list({ limit: "500" });
    expect(whole.status).toBe(200);
    const ids = whole.body.data.map((s) => s.subjectId);
    expect(ids).toEqual(expect.arrayContaining(IDS));
    expect(ids).toEqual([...ids].sort(byteOrder));
    for (const limit of [1, 3, 7]) expect(await allIds({}, limit)).toEqual(ids);
    expect(whole.body.data.find((s) => s.subjectId === IDS[0])).toMatchObject({
      subjectId: IDS[0],
      planId: gold,
      billingAnchorDay: null,
      overrides: {},
      featureOverrides: {},
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it("filters by plan, and by plan and prefix together, with no gaps or repeats across pages", async () => {
    const onGold = IDS.filter((_, i) => i % 3 === 0).sort(byteOrder);
    expect(await allIds({ planId: gold }, 2)).toEqual(onGold);
    const mine = IDS.filter((id, i) => i % 3 === 1 && id.startsWith(root)).sort(byteOrder);
    expect(await allIds({ planId: silver, prefix: root }, 1)).toEqual(mine);
    expect((await list({ planId: `${root}-none` })).body).toEqual({ data: [], nextCursor: null });
  });

  it.each([
    ["%", `${root}%`],
    ["_", `${root}_`],
    ["a quote", `${root}'`],
    ["two quotes", `${root}''`],
    ["a double quote", `${root}"`],
    ["an astral character", `${root}\u{1F600}`],
    ["U+10FFFF (no character after it)", `${root}\u{10FFFF}`],
    ["U+D7FF (the surrogates come after it)", `${root}\uD7FF`],
    ["CJK", `${root}日`],
    ["__proto__", "__proto__"],
    ["constructor", "constructor"],
    ["the whole root", root],
  ])("takes a prefix holding %s literally", async (_name, prefix) => {
    const expected = IDS.filter((id) => id.startsWith(prefix)).sort(byteOrder);
    expect(expected.length).toBeGreaterThan(0);
    expect(await allIds({ prefix }, 2)).toEqual(expected);
  });

  it("matches nothing for a prefix only a pattern would match", async () => {
    expect((await list({ prefix: `${root}%%` })).body.data).toEqual([]);
    expect((await list({ prefix: `${root}_b` })).body.data).toEqual([]);
    expect((await list({ prefix: `${root}\u{1F600}y` })).body.data).toEqual([]);
  });

  it.each([
    ["an empty prefix", { prefix: "" }],
    ["a prefix with a space", { prefix: "a b" }],
    ["a prefix with a slash", { prefix: "a/b" }],
    ["a prefix with a backslash (no id holds one)", { prefix: "a\\" }],
    ["a prefix with a control character", { prefix: "a\u0001" }],
    ["a prefix longer than any id", { prefix: "x".repeat(201) }],
    ["a malformed plan id", { planId: "-gold" }],
    ["a plan id with a space", { planId: "gold plan" }],
    ["a plan id longer than any", { planId: "p".repeat(101) }],
    ["limit 0", { limit: "0" }],
    ["limit 501", { limit: "501" }],
    ["a tampered cursor", { cursor: "garbage" }],
    ["an unknown parameter", { plan: gold }],
  ])("answers 400 VALIDATION_FAILED for %s", async (_name, query) => {
    const res = await list(query as Record<string, string>);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error?.code).toBe("VALIDATION_FAILED");
  });

  it("answers 400 for a prefix given twice", async () => {
    const res = await api("GET", `/v1/subjects?prefix=${root}&prefix=${root}a`);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
  });

  it("refuses a cursor of another list, and is for admin keys only", async () => {
    const plans = await api("GET", "/v1/plans?limit=1");
    expect(plans.body.nextCursor).toEqual(expect.any(String));
    expect((await list({ cursor: plans.body.nextCursor })).status).toBe(400);
    expect((await api("GET", "/v1/subjects", { token: await userToken(IDS[0]!) })).status).toBe(403);
    const reader = await api("POST", "/v1/api-keys", { body: { name: "reader", scopes: ["usage:read"] } });
    expect((await api("GET", "/v1/subjects", { token: reader.body.secret })).status).toBe(403);
  });

  it("reads the prefix as a range of the primary key's index", async () => {
    const { d1, statements } = recordingD1();
    const page = await listSubjects({ ...env, DB: d1 }, { planId: null, prefix: `${root}%`, afterId: null, limit: 10 });
    expect(page.rows.map((s) => s.id)).toEqual([`${root}%a`, `${root}%b`]);
    const [statement] = statements;
    expect(statement!.sql).not.toMatch(/\blike\b|\bglob\b|substr/i);
    expect((await queryPlan(statement!)).join("\n")).toMatch(/SEARCH subjects USING INDEX sqlite_autoindex_subjects_1 \(id>\? AND id<\?\)/);
  });
});

describe("idPrefixRange", () => {
  it.each([
    ["abc", "abd"],
    ["a%", "a&"],
    ["a\u{10FFFF}", "b"],
    ["a\u{10FFFF}\u{10FFFF}", "b"],
    ["\uD7FF", "\uE000"],
    ["x\u{1F600}", "x\u{1F601}"],
    ["\u{FFFF}", "\u{10000}"],
  ])("bounds %j below %j", (prefix, below) => {
    expect(idPrefixRange(prefix)).toEqual({ from: prefix, below });
  });

  it("has no upper end for a prefix of U+10FFFF only", () => {
    expect(idPrefixRange("\u{10FFFF}\u{10FFFF}")).toEqual({ from: "\u{10FFFF}\u{10FFFF}", below: null });
  });
});
