import { describe, expect, it } from "vitest";
import { api, userToken } from "../helpers/api";

interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
}

/** Every documented route, path parameters filled in with values their schemas accept. */
async function documentedRoutes(): Promise<{ method: string; path: string }[]> {
  const doc = (await api<OpenApiDocument>("GET", "/openapi.json", { token: null })).body;
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "q1") })),
  );
}

const issuePaths = (res: { body: { error: { details?: { issues: { path: string }[] } } } }) =>
  res.body.error.details?.issues.map((i) => i.path);

describe("unknown query parameters", () => {
  it("are refused with 400 naming the parameter on every GET route of the OpenAPI document", async () => {
    const routes = (await documentedRoutes()).filter((r) => r.method === "GET");
    expect(routes.length).toBeGreaterThan(10);
    for (const { path } of routes) {
      // A near miss of a real parameter: the hostile case is a filter silently ignored.
      const res = await api("GET", `${path}?subjectID=x`);
      expect(res.status, `GET ${path}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(issuePaths(res), path).toEqual(["subjectID"]);
    }
  });

  it("are refused on every other /v1 route too, before the body is looked at", async () => {
    const routes = (await documentedRoutes()).filter((r) => r.method !== "GET" && r.path.startsWith("/v1/"));
    for (const { method, path } of routes) {
      const res = await api(method, `${path}?dryRun=1`, { body: {} });
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(issuePaths(res), `${method} ${path}`).toEqual(["dryRun"]);
    }
  });

  it("no longer widen history or summaries: subjectID and meterr are 400, not every subject or meter", async () => {
    const history = await api("GET", "/v1/usage?subjectID=someone");
    expect(history.status).toBe(400);
    expect(issuePaths(history)).toEqual(["subjectID"]);
    const summary = await api("GET", "/v1/usage/summary?meterr=fax");
    expect(summary.status).toBe(400);
    expect(issuePaths(summary)).toEqual(["meterr"]);
    const mine = await api("GET", "/v1/me/usage?subjectId=someone-else", { token: await userToken("me-q") });
    expect(mine.status).toBe(400);
    expect(issuePaths(mine)).toEqual(["subjectId"]);
  });

  it("still take dimension.<name> filters where documented and a repeated groupBy", async () => {
    expect((await api("GET", "/v1/usage?dimension.schoolId=S1&limit=5")).status).toBe(200);
    expect((await api("GET", "/v1/me/usage?dimension.schoolId=S1", { token: await userToken("me-q") })).status).toBe(200);
    expect((await api("GET", "/v1/usage/export.csv?dimension.schoolId=S1&dimensions=schoolId")).status).toBe(200);
    const summary = await api("GET", "/v1/usage/summary?groupBy=meter&groupBy=day&dimension.schoolId=S1");
    expect(summary.status, JSON.stringify(summary.body)).toBe(200);
    expect((await api("GET", "/v1/periods?dimension.schoolId=S1")).status).toBe(400);
    expect((await api("GET", "/v1/notifications?dimension.schoolId=S1")).status).toBe(400);
  });
});
