import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../../src/domain/stored-event";
import { SERVICE_KEY, api, userToken } from "../helpers/api";
import { parseCsv } from "../helpers/csv";
import { voidInHistory, writeHistory } from "../helpers/history";
import { exports } from "cloudflare:workers";

const HEADER = ["id", "subjectId", "meter", "unit", "amount", "operation", "timestamp", "receivedAt", "source", "idempotencyKey"];

function event(i: number, subjectId: string, tricky = false): StoredEvent {
  const t = Date.UTC(2026, 9, 1) + i * 1000;
  return {
    id: `evt_csv_${subjectId}_${String(i).padStart(6, "0")}`,
    subjectId,
    meter: "api_call",
    unit: "call",
    amountE4: (i % 97) * 10_001,
    operation: "add",
    occurredAt: t,
    receivedAt: t + 5,
    source: "test",
    idempotencyKey: i % 2 ? `k${i}` : null,
    dimensions: tricky ? { schoolId: 'North, "Annex"', itemType: "line1\nline2" } : { schoolId: `S${i % 3}` },
    metadata: tricky ? { note: 'says "hi", twice\r\n' } : {},
  };
}

async function exportText(query: string): Promise<{ text: string; chunks: number; type: string | null; status: number }> {
  const res = await exports.default.fetch(
    new Request(`http://tally.test/v1/usage/export.csv?${query}`, { headers: { authorization: `Bearer ${SERVICE_KEY}` } }),
  );
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let chunks = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks += 1;
    text += decoder.decode(value, { stream: true });
  }
  return { text, chunks, type: res.headers.get("content-type"), status: res.status };
}

describe("GET /v1/usage/export.csv", () => {
  it("streams 100,000 events page by page and parses back to the same rows", async () => {
    const all = Array.from({ length: 100_000 }, (_, i) => event(i, "csv-big"));
    for (let i = 0; i < all.length; i += 2000) await writeHistory(all.slice(i, i + 2000));

    const { text, chunks, type, status } = await exportText("subjectId=csv-big&dimensions=schoolId");
    expect(status).toBe(200);
    expect(type).toBe("text/csv; charset=utf-8");
    // One chunk per page of 1,000 rows (plus the header): never the whole export at once.
    expect(chunks).toBeGreaterThanOrEqual(100);
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...HEADER, "schoolId", "dimensionsJson", "metadataJson", "voidedAt", "voidReason"]);
    expect(rows).toHaveLength(100_001);
    for (const i of [0, 1, 4_999, 50_000, 99_999]) {
      const e = all[i]!;
      expect(rows[i + 1]).toEqual([
        e.id,
        e.subjectId,
        "api_call",
        "call",
        String(e.amountE4 / 10_000),
        "add",
        new Date(e.occurredAt).toISOString(),
        new Date(e.receivedAt).toISOString(),
        "test",
        e.idempotencyKey ?? "",
        e.dimensions.schoolId!,
        JSON.stringify(e.dimensions),
        "{}",
        "",
        "",
      ]);
    }
    expect(new Set(rows.slice(1).map((r) => r[0])).size).toBe(100_000);
  });

  it("quotes commas, quotes and line breaks per RFC 4180 and applies the history filters", async () => {
    await writeHistory([event(1, "csv-tricky", true), event(2, "csv-tricky")]);
    const { text } = await exportText("subjectId=csv-tricky&dimensions=schoolId,itemType&dimension.itemType=line1%0Aline2");
    const rows = parseCsv(text);
    expect(rows, text).toHaveLength(2);
    expect(rows[1]!.slice(10)).toEqual([
      'North, "Annex"',
      "line1\nline2",
      JSON.stringify(event(1, "x", true).dimensions),
      JSON.stringify({ note: 'says "hi", twice\r\n' }),
      "",
      "",
    ]);
    expect(text).toContain('"North, ""Annex"""');
  });

  it("neutralises cells a spreadsheet would run as formulas (CSV injection), in every text column", async () => {
    const hostile: StoredEvent = {
      ...event(3, "=csv-formula"),
      id: "evt_csv_formula",
      source: "@source",
      idempotencyKey: "-2+3",
      dimensions: { schoolId: '=HYPERLINK("http://evil.test","x")', itemType: "\t=1" },
      metadata: { note: "+1" },
    };
    await writeHistory([hostile]);
    const { text } = await exportText(`subjectId=${encodeURIComponent("=csv-formula")}&dimensions=schoolId,itemType`);
    const [, row] = parseCsv(text);
    expect(row).toEqual([
      "evt_csv_formula",
      "'=csv-formula",
      "api_call",
      "call",
      String(hostile.amountE4 / 10_000),
      "add",
      new Date(hostile.occurredAt).toISOString(),
      new Date(hostile.receivedAt).toISOString(),
      "'@source",
      "'-2+3",
      `'=HYPERLINK("http://evil.test","x")`,
      "'\t=1",
      JSON.stringify(hostile.dimensions),
      JSON.stringify(hostile.metadata),
      "",
      "",
    ]);
    // A void reason is text too.
    await voidInHistory(hostile.id, hostile.receivedAt, "=cmd|calc");
    const voided = parseCsv((await exportText(`subjectId=${encodeURIComponent("=csv-formula")}&includeVoided=true`)).text)[1]!;
    expect(voided.slice(-2)).toEqual([new Date(hostile.receivedAt).toISOString(), "'=cmd|calc"]);
  });

  it("answers 401, 403 for another subject, and 400 for a bad dimension list", async () => {
    expect((await api("GET", "/v1/usage/export.csv?subjectId=csv-tricky", { token: null })).status).toBe(401);
    expect((await api("GET", "/v1/usage/export.csv?subjectId=csv-tricky", { token: await userToken("someone") })).status).toBe(403);
    expect((await api("GET", "/v1/usage/export.csv?subjectId=csv-tricky", { token: await userToken("csv-tricky") })).status).toBe(200);
    expect((await api("GET", "/v1/usage/export.csv?dimensions=bad-name")).status).toBe(400);
  });
});
