import { describe, expect, it } from "vitest";
import { api, flushLedger, uniqueSubject } from "../helpers/api";
import { parseCsv } from "../helpers/csv";

const DAY = 86_400_000;
const TZ = "America/New_York";

/** The Monday (in `tz`) of the ISO week an instant falls in, as YYYY-MM-DD: how the summary labels weeks. */
function weekOf(atMs: number, tz: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date(atMs))
      .map((p) => [p.type, p.value]),
  );
  const date = new Date(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)));
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  return date.toISOString().slice(0, 10);
}

describe("a pantry report: one school by item type and week, with unique users", () => {
  it("matches a brute-force computation over the CSV export of the same events", async () => {
    const school = `${uniqueSubject("school")}`;
    const now = Date.now();
    const from = new Date(now - 27 * DAY).toISOString();
    const to = new Date(now + 60_000).toISOString();
    const itemTypes = ["canned", "produce", "__proto__", "=SUM(A1)", "bread, loaf"];
    const users = ["u1", "u2", "u3", "u4", "u\u0000zero", "constructor"];
    const events: unknown[] = [];
    let n = 0;
    for (const subjectId of [uniqueSubject("pantry-a"), uniqueSubject("pantry-b")]) {
      for (let i = 0; i < 60; i++) {
        n++;
        const dimensions: Record<string, string> = {
          schoolId: n % 5 === 0 ? "another-school" : school,
          userId: users[(n * 7) % users.length]!,
        };
        if (n % 11 !== 0) dimensions.itemType = itemTypes[(n * 3) % itemTypes.length]!;
        events.push({
          subjectId,
          meter: "pantry_items",
          amount: (n % 4) + 1,
          timestamp: new Date(now - ((n * 37) % 26) * DAY - (n % 13) * 3_600_000).toISOString(),
          dimensions,
          idempotencyKey: `${school}-${n}`,
        });
      }
      await api("POST", "/v1/usage/batch", { body: { events: events.splice(0) } });
      await flushLedger(subjectId);
    }

    const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&dimension.schoolId=${encodeURIComponent(school)}`;
    const csv = await api<string>("GET", `/v1/usage/export.csv?meter=pantry_items&${range}&dimensions=itemType,userId`);
    expect(csv.status).toBe(200);
    const [header, ...rows] = parseCsv(csv.body).filter((r) => r.length > 1);
    const col = (name: string) => header!.indexOf(name);
    const expected = new Map<string, { total: number; count: number; users: Set<string> }>();
    for (const row of rows) {
      const dims = JSON.parse(row[col("dimensionsJson")]!) as Record<string, string>;
      const key = JSON.stringify([dims.itemType ?? null, weekOf(Date.parse(row[col("timestamp")]!), TZ)]);
      const group = expected.get(key) ?? { total: 0, count: 0, users: new Set<string>() };
      group.total += Number(row[col("amount")]);
      group.count += 1;
      if (dims.userId !== undefined) group.users.add(dims.userId);
      expected.set(key, group);
    }
    expect(rows.length).toBeGreaterThan(50);

    const summary = await api(
      "GET",
      `/v1/usage/summary?meter=pantry_items&${range}&groupBy=dimension.itemType&groupBy=week&distinct=dimension.userId&tz=${encodeURIComponent(TZ)}`,
    );
    expect(summary.status, JSON.stringify(summary.body)).toBe(200);
    const actual = new Map(
      (summary.body.data as Record<string, unknown>[]).map((r) => [
        JSON.stringify([r["dimension.itemType"], r.week]),
        { total: r.total, count: r.count, distinct: r.distinct },
      ]),
    );
    expect(actual).toEqual(new Map([...expected].map(([key, g]) => [key, { total: g.total, count: g.count, distinct: g.users.size }])));
  });
});
