import { beforeAll, describe, expect, it } from "vitest";
import { api, flushLedger, uniqueSubject } from "../helpers/api";

const subjectId = uniqueSubject("reader");
const base = Date.now() - 10 * 86_400_000;
const at = (day: number) => new Date(base + day * 86_400_000).toISOString();

beforeAll(async () => {
  const events = Array.from({ length: 25 }, (_, i) => ({
    subjectId,
    meter: i % 2 === 0 ? "fax" : "api_call",
    amount: i + 1,
    timestamp: at(i % 5),
    idempotencyKey: `r${i}`,
    dimensions: { schoolId: i < 10 ? "S1" : "S2", itemType: i % 3 === 0 ? "canned" : "fresh", endpoint: `/e${i % 4}` },
  }));
  const res = await api("POST", "/v1/usage/batch", { body: { events } });
  expect(res.status).toBe(200);
  await flushLedger(subjectId);
});

async function all(query: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: any } = await api(
      "GET",
      `/v1/usage?subjectId=${subjectId}&limit=4${query}${cursor ? `&cursor=${cursor}` : ""}`,
    );
    expect(res.status).toBe(200);
    out.push(...res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

describe("GET /v1/usage", () => {
  it("pages through everything newest first without gaps or repeats", async () => {
    const events = await all("");
    expect(events).toHaveLength(25);
    expect(new Set(events.map((e) => e.id)).size).toBe(25);
    const times = events.map((e) => Date.parse(e.timestamp));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("filters by meter, time range and dimensions (indexed and not)", async () => {
    expect(await all("&meter=fax")).toHaveLength(13);
    const ranged = await all(`&from=${at(1)}&to=${at(3)}`);
    expect(ranged).toHaveLength(10);
    expect(await all("&dimension.schoolId=S1")).toHaveLength(10);
    expect(await all("&dimension.schoolId=S2&dimension.itemType=canned")).toHaveLength(5);
    expect(await all("&dimension.endpoint=%2Fe1")).toHaveLength(6);
    expect(await all("&dimension.schoolId=none")).toHaveLength(0);
  });

  it("refuses a bad cursor, a bad dimension filter and a bad limit", async () => {
    for (const query of ["cursor=%%%", "cursor=bm9wZQ", "dimension.bad-name=x", "limit=1001", "from=yesterday"]) {
      const res = await api("GET", `/v1/usage?subjectId=${subjectId}&${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
  });

  it("answers 404 for an unknown event id", async () => {
    const res = await api("GET", "/v1/usage/evt_missing");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
  });
});
