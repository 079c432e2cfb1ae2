import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { api, SERVICE_KEY, uniqueSubject, userToken } from "../helpers/api";
import { adminKey, auditRows, ROOT } from "../helpers/audit-rows";

/** Issue 17: plans are listed in id order and deleted once no subject is on them, race-free. */

const suffix = crypto.randomUUID().slice(0, 8);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const putPlan = (planId: string, limit = 5) => api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit } } } });
const deletePlan = (planId: string, token?: string) => api("DELETE", `/v1/plans/${planId}`, token === undefined ? {} : { token });

/** Subjects whose plan_id names no plan: what a delete racing a subject PUT must never leave. */
async function orphanedSubjects(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT id FROM subjects s WHERE plan_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.id = s.plan_id)",
  ).all<{ id: string }>();
  return results.map((r) => r.id);
}

/** D1 that runs `hook` just before each write to subjects: where a check-then-write would let a delete in. */
function beforeSubjectWrite(hook: () => Promise<void>): D1Database {
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop !== "prepare") {
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (query: string) => {
        const statement = target.prepare(query);
        if (!/^insert into "subjects"/i.test(query)) return statement;
        const bind = statement.bind.bind(statement);
        statement.bind = (...params: unknown[]) => {
          const bound = bind(...params) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
          for (const method of ["all", "raw", "run", "first"]) {
            const run = bound[method]!.bind(bound);
            bound[method] = async (...args) => {
              await hook();
              return run(...args);
            };
          }
          return bound as unknown as D1PreparedStatement;
        };
        return statement;
      };
    },
  });
}

async function allPages(pageSize: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: { data: { id: string }[]; nextCursor: string | null } } = await api(
      "GET",
      `/v1/plans?limit=${pageSize}${cursor ? `&cursor=${cursor}` : ""}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(pageSize);
    ids.push(...res.body.data.map((p) => p.id));
    cursor = res.body.nextCursor;
  } while (cursor !== null);
  return ids;
}

describe("GET /v1/plans", () => {
  it("pages through every plan in id order, with no gaps or repeats, whatever the page size", async () => {
    const mine = ["b", "a", "c.1", "c:2", "C", "z-9", "0"].map((id) => `list-${suffix}-${id}`);
    for (const planId of mine) expect((await putPlan(planId)).status).toBe(201);
    const whole = await api("GET", "/v1/plans?limit=500");
    expect(whole.body.nextCursor).toBeNull();
    const ids = whole.body.data.map((p: { id: string }) => p.id);
    expect(ids).toEqual(expect.arrayContaining(mine));
    // SQLite's byte order: what the cursor continues from.
    expect(ids).toEqual([...ids].sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const size of [1, 2, 3, ids.length]) expect(await allPages(size)).toEqual(ids);
    expect(whole.body.data.find((p: { id: string }) => p.id === mine[0])).toMatchObject({
      id: mine[0],
      name: null,
      entitlements: { fax: { limit: 5, period: "month", enforcement: "hard" } },
      features: {},
      createdAt: expect.any(String),
    });
  });

  it("answers the last page with nextCursor null, and 400 for a bad limit, cursor or parameter", async () => {
    await putPlan(`list-${suffix}-last`);
    const first = await api("GET", "/v1/plans?limit=1");
    expect(first.body.nextCursor).toEqual(expect.any(String));
    for (const query of ["limit=0", "limit=501", "limit=two", "cursor=garbage", "planId=x", `cursor=${first.body.nextCursor}x`]) {
      const res = await api("GET", `/v1/plans?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
    // A subjects cursor is not a plans cursor.
    const subjects = await api("GET", "/v1/subjects?limit=1");
    if (subjects.body.nextCursor) expect((await api("GET", `/v1/plans?cursor=${subjects.body.nextCursor}`)).status).toBe(400);
  });

  it("is for admin keys only", async () => {
    expect((await api("GET", "/v1/plans", { token: await userToken("someone") })).status).toBe(403);
    const reader = await api("POST", "/v1/api-keys", { body: { name: "reader", scopes: ["usage:read"] } });
    expect((await api("GET", "/v1/plans", { token: reader.body.secret })).status).toBe(403);
    expect((await api("GET", "/v1/plans", { token: null })).status).toBe(401);
  });
});

describe("DELETE /v1/plans/{planId}", () => {
  it("deletes an unused plan, answers it, and logs plan.delete with the plan before and nothing after", async () => {
    const planId = `del-${suffix}-free`;
    const created = (await putPlan(planId)).body.plan;
    const who = await adminKey();
    const res = await deletePlan(planId, who.secret);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.plan).toEqual(created);
    expect((await api("GET", `/v1/plans/${planId}`)).status).toBe(404);
    const again = await deletePlan(planId);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe("NOT_FOUND");

    const rows = await auditRows("plan", planId);
    expect(rows.map((r) => r.action)).toEqual(["plan.delete", "plan.put"]);
    expect(rows[0]).toMatchObject({
      actor: { type: "api_key", id: who.id },
      requestId: res.headers.get("x-request-id"),
      before: { id: planId, entitlements: created.entitlements, createdAt: created.createdAt, updatedAt: created.updatedAt },
      after: null,
    });
  });

  it("answers 404 for an unknown plan and 400 for a malformed id, logging nothing", async () => {
    expect((await deletePlan(`del-${suffix}-never`)).status).toBe(404);
    expect(await auditRows("plan", `del-${suffix}-never`)).toEqual([]);
    for (const bad of ["-bad", "a%20b", "x".repeat(101)]) expect((await deletePlan(bad)).status, bad).toBe(400);
  });

  it("is 409 PLAN_IN_USE while subjects are on it, naming the first 100 in id order, and deletes once they have moved", async () => {
    const planId = `del-${suffix}-busy`;
    await putPlan(planId);
    const subjects = Array.from({ length: 102 }, (_, i) => `busy-${suffix}-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < subjects.length; i += 20) {
      const puts = subjects.slice(i, i + 20).map((s) => api("PUT", `/v1/subjects/${s}`, { body: { planId } }));
      for (const put of await Promise.all(puts)) expect(put.status).toBe(201);
    }
    const busy = await deletePlan(planId);
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe("PLAN_IN_USE");
    expect(busy.body.error.details.subjectIds).toEqual(subjects.slice(0, 100));
    expect((await api("GET", `/v1/plans/${planId}`)).status).toBe(200);
    expect((await auditRows("plan", planId)).map((r) => r.action)).toEqual(["plan.put"]);

    const small = `del-${suffix}-small`;
    await putPlan(small);
    const [stays, moves] = [uniqueSubject("small"), uniqueSubject("small")];
    for (const s of [stays, moves]) await api("PUT", `/v1/subjects/${s}`, { body: { planId: small } });
    await api("PUT", `/v1/subjects/${moves}`, { body: { planId } });
    expect((await deletePlan(small)).body.error.details.subjectIds).toEqual([stays]);
    await api("PUT", `/v1/subjects/${stays}`, { body: { planId: null } });
    expect((await deletePlan(small)).status).toBe(200);
    expect((await api("GET", `/v1/subjects/${stays}`)).body.subject.planId).toBeNull();
  });

  it("leaves a subject PUT naming a deleted plan 404, writing nothing", async () => {
    const planId = `del-${suffix}-gone`;
    await putPlan(planId);
    await deletePlan(planId);
    const subjectId = uniqueSubject("gone");
    const res = await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId, billingAnchorDay: 3 } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
    expect((await api("GET", `/v1/subjects/${subjectId}`)).status).toBe(404);
    expect(await auditRows("subject", subjectId)).toEqual([]);
    // An existing subject keeps its settings.
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { billingAnchorDay: 3 } });
    expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId, billingAnchorDay: 9 } })).status).toBe(404);
    expect((await api("GET", `/v1/subjects/${subjectId}`)).body.subject).toMatchObject({ planId: null, billingAnchorDay: 3 });
  });

  it("wins over a subject PUT it lands in the middle of: the PUT is 404 and writes nothing", async () => {
    const planId = `del-${suffix}-between`;
    await putPlan(planId);
    const subjectId = uniqueSubject("between");
    let deleted: Awaited<ReturnType<typeof deletePlan>> | undefined;
    const db = beforeSubjectWrite(async () => {
      deleted ??= await deletePlan(planId);
    });
    const put = await createApp().request(
      `/v1/subjects/${subjectId}`,
      {
        method: "PUT",
        headers: { authorization: `Bearer ${SERVICE_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ planId }),
      },
      { ...env, DB: db },
      createExecutionContext(),
    );
    expect(deleted?.status, JSON.stringify(deleted?.body)).toBe(200);
    expect(put.status, await put.clone().text()).toBe(404);
    expect((await api("GET", `/v1/subjects/${subjectId}`)).status).toBe(404);
    expect(await orphanedSubjects()).toEqual([]);
  });

  it("never leaves a subject on a missing plan when deletes race subject PUTs", async () => {
    const outcomes = { deleted: 0, kept: 0 };
    for (let round = 0; round < 40; round++) {
      const planId = `race-${suffix}-${round}`;
      await putPlan(planId);
      const racers = [uniqueSubject("race"), uniqueSubject("race")];
      // The delete starts a little later in some rounds, so both orders happen.
      const [deleted, ...puts] = await Promise.all([
        round % 5 === 0 ? deletePlan(planId) : sleep((round % 5) - 1).then(() => deletePlan(planId)),
        ...racers.map((s) => api("PUT", `/v1/subjects/${s}`, { body: { planId } })),
      ]);
      const landed = racers.filter((_, i) => puts[i]!.status === 201);
      for (const put of puts) expect([201, 404], JSON.stringify(put.body)).toContain(put.status);
      if (deleted!.status === 200) {
        outcomes.deleted += 1;
        expect(landed).toEqual([]);
        expect((await api("GET", `/v1/plans/${planId}`)).status).toBe(404);
      } else {
        outcomes.kept += 1;
        expect(deleted!.status, JSON.stringify(deleted!.body)).toBe(409);
        expect(landed.length).toBeGreaterThan(0);
        expect(deleted!.body.error.details.subjectIds).toEqual(expect.arrayContaining(landed.slice(0, 1)));
      }
      for (const s of racers.filter((r) => !landed.includes(r))) expect((await api("GET", `/v1/subjects/${s}`)).status).toBe(404);
    }
    expect(outcomes.deleted + outcomes.kept).toBe(40);
    expect(await orphanedSubjects()).toEqual([]);
  });
});

describe("plan writes in the audit log", () => {
  it("logs each PUT once as plan.put, with the plan before (null when new) and after", async () => {
    const planId = `audit-${suffix}`;
    const first = (await putPlan(planId, 5)).body.plan;
    const second = (await putPlan(planId, 9)).body.plan;
    const rows = await auditRows("plan", planId);
    expect(rows.map((r) => r.action)).toEqual(["plan.put", "plan.put"]);
    expect(rows[1]).toMatchObject({ actor: ROOT, before: null, after: first });
    expect(rows[0]).toMatchObject({ actor: ROOT, before: first, after: second });
    // A refused PUT writes nothing and logs nothing.
    expect((await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { nope_meter: { limit: 1 } } } })).status).toBe(422);
    expect((await auditRows("plan", planId)).length).toBe(2);
  });
});
