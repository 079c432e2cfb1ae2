import { describe, expect, it } from "vitest";
import { api, uniqueSubject, userToken } from "../helpers/api";

const newPlanId = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;
const features = async (subjectId: string) => {
  const res = await api("GET", `/v1/subjects/${subjectId}/features`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
};

async function planWith(planFeatures: unknown): Promise<string> {
  const planId = newPlanId("features");
  const res = await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: { fax: { limit: 10 } }, features: planFeatures } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return planId;
}

describe("plan features and subject overrides", () => {
  it("lists the plan's features, and the plan answers them", async () => {
    const planId = await planWith({ sso: false, seats: 5, theme: "light" });
    expect((await api("GET", `/v1/plans/${planId}`)).body.plan.features).toEqual({ sso: false, seats: 5, theme: "light" });
    const subjectId = uniqueSubject("features");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } });
    expect(await features(subjectId)).toEqual([
      { key: "seats", value: 5, source: "plan" },
      { key: "sso", value: false, source: "plan" },
      { key: "theme", value: "light", source: "plan" },
    ]);
  });

  it("lets an override win with source override, and adds keys only the override has", async () => {
    const planId = await planWith({ sso: false, seats: 5 });
    const subjectId = uniqueSubject("features");
    const put = await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId, featureOverrides: { sso: true, beta: "on" } } });
    expect(put.status).toBe(201);
    expect(put.body.subject.featureOverrides).toEqual({ sso: true, beta: "on" });
    expect(await features(subjectId)).toEqual([
      { key: "beta", value: "on", source: "override" },
      { key: "seats", value: 5, source: "plan" },
      { key: "sso", value: true, source: "override" },
    ]);
  });

  it("keeps the overrides when a PUT leaves featureOverrides out, and replaces the whole map when it names one", async () => {
    const planId = await planWith({ seats: 5 });
    const subjectId = uniqueSubject("features");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId, featureOverrides: { seats: 50, beta: true } } });
    const kept = await api("PUT", `/v1/subjects/${subjectId}`, { body: { billingAnchorDay: 3 } });
    expect(kept.body.subject).toMatchObject({ billingAnchorDay: 3, featureOverrides: { seats: 50, beta: true } });
    expect((await features(subjectId)).map((r: { key: string }) => r.key)).toEqual(["beta", "seats"]);

    await api("PUT", `/v1/subjects/${subjectId}`, { body: { featureOverrides: { beta: false } } });
    expect(await features(subjectId)).toEqual([
      { key: "beta", value: false, source: "override" },
      { key: "seats", value: 5, source: "plan" },
    ]);
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { featureOverrides: {} } });
    expect(await features(subjectId)).toEqual([{ key: "seats", value: 5, source: "plan" }]);
  });

  it("takes an override of null as the value, not as a removal", async () => {
    const planId = await planWith({ seats: 5 });
    const subjectId = uniqueSubject("features");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId, featureOverrides: { seats: null } } });
    expect(await features(subjectId)).toEqual([{ key: "seats", value: null, source: "override" }]);
  });

  it("follows a plan's new features and a change of plan at once", async () => {
    const planId = await planWith({ seats: 5 });
    const subjectId = uniqueSubject("features");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } });
    await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: {}, features: { seats: 6 } } });
    expect(await features(subjectId)).toEqual([{ key: "seats", value: 6, source: "plan" }]);
    const other = await planWith({ export: true });
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: other } });
    expect(await features(subjectId)).toEqual([{ key: "export", value: true, source: "plan" }]);
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: null, featureOverrides: { solo: 1 } } });
    expect(await features(subjectId)).toEqual([{ key: "solo", value: 1, source: "override" }]);
  });

  it("answers a plan PUT without features with none, and an unknown subject with an empty list", async () => {
    const planId = newPlanId("features");
    expect((await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: {} } })).body.plan.features).toEqual({});
    const subjectId = uniqueSubject("features");
    expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } })).body.subject.featureOverrides).toEqual({});
    expect(await features(subjectId)).toEqual([]);
    expect(await features(uniqueSubject("never-seen"))).toEqual([]);
  });

  it("stores and answers any JSON value as sent", async () => {
    const values = {
      flag: true,
      seats: 25,
      ratio: 0.125,
      negative: -3,
      tier: "gold",
      empty: "",
      none: null,
      list: [1, "two", null, [3], { four: 4 }],
      limits: { exports: { perDay: 10, formats: ["csv", "json"] }, emoji: "😀" },
    };
    const planId = await planWith(values);
    expect((await api("GET", `/v1/plans/${planId}`)).body.plan.features).toEqual(values);
    const subjectId = uniqueSubject("features");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId, featureOverrides: { limits: { exports: null } } } });
    const rows = await features(subjectId);
    expect(rows.map((r: { key: string }) => r.key)).toEqual(Object.keys(values).sort());
    expect(rows.find((r: { key: string }) => r.key === "list")).toEqual({ key: "list", value: values.list, source: "plan" });
    expect(rows.find((r: { key: string }) => r.key === "limits")).toEqual({ key: "limits", value: { exports: null }, source: "override" });
  });

  it("keeps prototype names as features like any other, in plans and overrides", async () => {
    const planId = newPlanId("features-proto");
    // Raw JSON: "__proto__" is then an own key, as in any client's body.
    const plan = await api("PUT", `/v1/plans/${planId}`, {
      rawBody: '{"entitlements":{},"features":{"__proto__":{"admin":true},"constructor":1,"toString":"x","hasOwnProperty":false}}',
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    expect(Object.keys(plan.body.plan.features).sort()).toEqual(["__proto__", "constructor", "hasOwnProperty", "toString"]);
    expect((await api("GET", `/v1/plans/${planId}`)).body.plan.features).toEqual(plan.body.plan.features);

    const subjectId = uniqueSubject("features-proto");
    const subject = await api("PUT", `/v1/subjects/${subjectId}`, {
      rawBody: `{"planId":"${planId}","featureOverrides":{"__proto__":[1],"valueOf":null}}`,
    });
    expect(subject.status, JSON.stringify(subject.body)).toBe(201);
    expect(Object.keys(subject.body.subject.featureOverrides).sort()).toEqual(["__proto__", "valueOf"]);
    expect(await features(subjectId)).toEqual([
      { key: "__proto__", value: [1], source: "override" },
      { key: "constructor", value: 1, source: "plan" },
      { key: "hasOwnProperty", value: false, source: "plan" },
      { key: "toString", value: "x", source: "plan" },
      { key: "valueOf", value: null, source: "override" },
    ]);
  });
});

describe("invalid features", () => {
  const tooMany = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, true]));
  const deep = JSON.parse(`${"[".repeat(11)}1${"]".repeat(11)}`);
  const cases: [string, unknown, string[]][] = [
    ["101 features", tooMany, []],
    ["a value over 4 KB", { big: "x".repeat(4096) }, ["big"]],
    ["a lone surrogate in a nested string", { ok: 1, nested: { list: ["fine", "a\ud800"] } }, ["nested", "list", "1"]],
    ["a lone surrogate in a nested key", { nested: { "k\udc00": 1 } }, ["nested", "k\udc00"]],
    ["a key with a space", { "single sign-on": true }, ["single sign-on"]],
    ["a key starting with '-'", { "-x": true }, ["-x"]],
    ["a value nested 11 deep", { deep }, ["deep"]],
    ["an array for the map", [true], []],
  ];

  it.each(cases)("refuses %s in a plan with 400 and writes nothing", async (_name, value, path) => {
    const planId = await planWith({ kept: true });
    const res = await api("PUT", `/v1/plans/${planId}`, { body: { entitlements: {}, features: value } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(["features", ...path].join("."));
    expect((await api("GET", `/v1/plans/${planId}`)).body.plan.features).toEqual({ kept: true });
    const fresh = newPlanId("features-invalid");
    expect((await api("PUT", `/v1/plans/${fresh}`, { body: { entitlements: {}, features: value } })).status).toBe(400);
    expect((await api("GET", `/v1/plans/${fresh}`)).status).toBe(404);
  });

  it.each(cases)("refuses %s in a subject's overrides with 400 and writes nothing", async (_name, value) => {
    const subjectId = uniqueSubject("features-invalid");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { featureOverrides: { kept: true } } });
    const res = await api("PUT", `/v1/subjects/${subjectId}`, { body: { billingAnchorDay: 9, featureOverrides: value } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect((await api("GET", `/v1/subjects/${subjectId}`)).body.subject).toMatchObject({
      billingAnchorDay: null,
      featureOverrides: { kept: true },
    });
    const fresh = uniqueSubject("features-invalid");
    expect((await api("PUT", `/v1/subjects/${fresh}`, { body: { featureOverrides: value } })).status).toBe(400);
    expect((await api("GET", `/v1/subjects/${fresh}`)).status).toBe(404);
  });

  it("takes 100 features and a value of exactly 4 KB", async () => {
    const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, i]));
    expect((await features(await assign(await planWith(hundred)))).length).toBe(100);
    const planId = await planWith({ big: "x".repeat(4094) });
    expect((await api("GET", `/v1/plans/${planId}`)).body.plan.features.big).toHaveLength(4094);
  });
});

describe("who reads features", () => {
  it("lets a user token read its own subject's features, on either path, and no one else's", async () => {
    const subjectId = await assign(await planWith({ sso: true }));
    const token = await userToken(subjectId);
    const expected = [{ key: "sso", value: true, source: "plan" }];
    const mine = await api("GET", "/v1/me/features", { token });
    expect(mine.status).toBe(200);
    expect(mine.body.data).toEqual(expected);
    expect((await api("GET", `/v1/subjects/${subjectId}/features`, { token })).body.data).toEqual(expected);

    const other = await api("GET", `/v1/subjects/${subjectId}/features`, { token: await userToken(uniqueSubject("intruder")) });
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe("FORBIDDEN");
    expect((await api("GET", "/v1/me/features", { token: await userToken(uniqueSubject("no-settings")) })).body.data).toEqual([]);
  });

  it("answers the service key 403 on /v1/me/features, and no credentials 401", async () => {
    const res = await api("GET", "/v1/me/features");
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
    expect((await api("GET", "/v1/me/features", { token: null })).status).toBe(401);
    expect((await api("GET", `/v1/subjects/${uniqueSubject()}/features`, { token: null })).status).toBe(401);
  });
});

async function assign(planId: string): Promise<string> {
  const subjectId = uniqueSubject("features");
  expect((await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId } })).status).toBe(201);
  return subjectId;
}
