import { describe, expect, it } from "vitest";
import { api, counterTotal, flushLedger, historyRows, ledger, uniqueSubject } from "../helpers/api";

const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

describe("POST /v1/usage", () => {
  it("records an event, counts it at once and stores it in history after the flush", async () => {
    const subjectId = uniqueSubject();
    const res = await api("POST", "/v1/usage", {
      body: { subjectId, meter: "fax", amount: 3, dimensions: { schoolId: "S1" }, metadata: { faxId: "f1" } },
    });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe("created");
    expect(res.body.event).toMatchObject({ subjectId, meter: "fax", unit: "page", amount: 3, source: "api" });
    expect(res.body.event.id).toMatch(/^evt_/);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(await counterTotal(subjectId, "fax")).toBe(3);

    await flushLedger(subjectId);
    const stored = await api("GET", `/v1/usage/${res.body.event.id}`);
    expect(stored.status).toBe(200);
    expect(stored.body.event).toEqual(res.body.event);
  });

  it("keeps four decimals exactly", async () => {
    const subjectId = uniqueSubject();
    for (const amount of [0.1, 0.2, 1.2345]) {
      expect((await api("POST", "/v1/usage", { body: { subjectId, meter: "storage", amount } })).status).toBe(201);
    }
    expect(await counterTotal(subjectId, "storage")).toBe(1.5345);
  });

  it("answers a replay with the original event, counted once", async () => {
    const subjectId = uniqueSubject();
    const body = { subjectId, meter: "api_call", amount: 2, idempotencyKey: "req-1" };
    const first = await api("POST", "/v1/usage", { body });
    const again = await api("POST", "/v1/usage", { body });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: "duplicate", event: first.body.event });
    expect(await counterTotal(subjectId, "api_call")).toBe(2);
  });

  it("refuses the same key with a different body and changes nothing", async () => {
    const subjectId = uniqueSubject();
    await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 2, idempotencyKey: "k" } });
    const res = await api("POST", "/v1/usage", { body: { subjectId, meter: "api_call", amount: 5, idempotencyKey: "k" } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    expect(await counterTotal(subjectId, "api_call")).toBe(2);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(1);
  });

  it("takes the Idempotency-Key header for events without a key", async () => {
    const subjectId = uniqueSubject();
    const body = { subjectId, meter: "fax", amount: 1 };
    const headers = { "idempotency-key": "hdr-1" };
    expect((await api("POST", "/v1/usage", { body, headers })).status).toBe(201);
    expect((await api("POST", "/v1/usage", { body, headers })).status).toBe(200);
    expect(await counterTotal(subjectId, "fax")).toBe(1);
  });

  it("counts 100 concurrent posts with one key exactly once", async () => {
    const subjectId = uniqueSubject();
    const body = { subjectId, meter: "fax", amount: 7, idempotencyKey: "burst" };
    const responses = await Promise.all(Array.from({ length: 100 }, () => api("POST", "/v1/usage", { body })));
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(99);
    expect(new Set(responses.map((r) => r.body.event.id)).size).toBe(1);
    expect(await counterTotal(subjectId, "fax")).toBe(7);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(1);
  });

  it.each([
    ["an unknown meter", { meter: "nope" }, 422, "UNKNOWN_METER"],
    ["another unit", { meter: "fax", unit: "byte" }, 422, "UNIT_MISMATCH"],
    ["a timestamp 6 minutes ahead", { meter: "fax", timestamp: iso(6 * 60_000) }, 422, "TIMESTAMP_OUT_OF_RANGE"],
    ["a timestamp 36 days old", { meter: "fax", timestamp: iso(-36 * 86_400_000) }, 422, "TIMESTAMP_OUT_OF_RANGE"],
    ["a negative amount", { meter: "fax", amount: -1 }, 400, "VALIDATION_FAILED"],
    ["five decimals", { meter: "fax", amount: 1.00001 }, 400, "VALIDATION_FAILED"],
    ["an unknown field", { meter: "fax", ammount: 4 }, 400, "VALIDATION_FAILED"],
    ["a bad dimension name", { meter: "fax", dimensions: { "no spaces": "x" } }, 400, "VALIDATION_FAILED"],
    ["metadata over 8 KB", { meter: "fax", metadata: { blob: "x".repeat(9000) } }, 400, "VALIDATION_FAILED"],
  ])("refuses %s without writing", async (_name, fields, status, code) => {
    const subjectId = uniqueSubject();
    const res = await api("POST", "/v1/usage", { body: { subjectId, ...fields } });
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.requestId).toBe(res.headers.get("x-request-id"));
    expect((await ledger(subjectId).state()).counters).toEqual([]);
  });

  it("names the field paths of validation failures", async () => {
    const res = await api("POST", "/v1/usage", { body: { subjectId: "u1", meter: "fax", amount: "two" } });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: "amount" })]));
  });

  it("answers 413 over 1 MB, 415 for non-JSON and 400 for broken JSON", async () => {
    const big = await api("POST", "/v1/usage", { rawBody: JSON.stringify({ pad: "x".repeat(1_100_000) }) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("PAYLOAD_TOO_LARGE");
    const text = await api("POST", "/v1/usage", { rawBody: "subjectId=u", headers: { "content-type": "text/plain" } });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const broken = await api("POST", "/v1/usage", { rawBody: '{"subjectId": ' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe("INVALID_JSON");
    const empty = await api("POST", "/v1/usage");
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toMatch(/^(VALIDATION_FAILED|INVALID_JSON)$/);
  });
});

describe("POST /v1/usage/batch", () => {
  it("stores 1000 events once when the same batch is sent three times", async () => {
    const subjects = Array.from({ length: 10 }, () => uniqueSubject("batch"));
    const events = Array.from({ length: 1000 }, (_, i) => ({
      subjectId: subjects[i % subjects.length]!,
      meter: "api_call",
      amount: (i % 5) + 0.5,
      idempotencyKey: `b-${i}`,
    }));
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await api("POST", "/v1/usage/batch", { body: { events } });
      expect(res.status).toBe(200);
      expect(res.body.results).toHaveLength(1000);
      const expected = attempt === 0 ? "created" : "duplicate";
      expect(res.body.results.every((r: { status: string }) => r.status === expected)).toBe(true);
    }
    for (const subjectId of subjects) {
      const mine = events.filter((e) => e.subjectId === subjectId);
      expect(await counterTotal(subjectId, "api_call")).toBe(mine.reduce((s, e) => s + e.amount, 0));
      await flushLedger(subjectId);
    }
    let stored = 0;
    for (const subjectId of subjects) stored += await historyRows(subjectId);
    expect(stored).toBe(1000);
  });

  it("rejects rule-breaking items one by one and records the rest", async () => {
    const subjectId = uniqueSubject();
    await api("POST", "/v1/usage", { body: { subjectId, meter: "fax", amount: 1, idempotencyKey: "taken" } });
    const res = await api("POST", "/v1/usage/batch", {
      body: {
        events: [
          { subjectId, meter: "fax", amount: 2 },
          { subjectId, meter: "nope" },
          { subjectId, meter: "fax", unit: "call" },
          { subjectId, meter: "fax", amount: 9, idempotencyKey: "taken" },
          { subjectId, meter: "fax", amount: 1, idempotencyKey: "taken" },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string; error?: { code: string } }) => r.error?.code ?? r.status)).toEqual([
      "created",
      "UNKNOWN_METER",
      "UNIT_MISMATCH",
      "IDEMPOTENCY_CONFLICT",
      "duplicate",
    ]);
    expect(await counterTotal(subjectId, "fax")).toBe(3);
  });

  it("refuses a malformed item, an empty batch and more than 1000 events whole", async () => {
    const subjectId = uniqueSubject();
    const malformed = await api("POST", "/v1/usage/batch", {
      body: {
        events: [
          { subjectId, meter: "fax" },
          { subjectId, meter: "fax", amount: -3 },
        ],
      },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details.issues[0].path).toBe("events.1.amount");
    expect((await api("POST", "/v1/usage/batch", { body: { events: [] } })).status).toBe(400);
    const tooMany = Array.from({ length: 1001 }, () => ({ subjectId, meter: "fax" }));
    expect((await api("POST", "/v1/usage/batch", { body: { events: tooMany } })).status).toBe(400);
    expect((await ledger(subjectId).state()).counters).toEqual([]);
  });

  it("makes keyless events of a batch idempotent with the Idempotency-Key header", async () => {
    const subjectId = uniqueSubject();
    const body = {
      events: [
        { subjectId, meter: "fax" },
        { subjectId, meter: "fax", amount: 2 },
      ],
    };
    const headers = { "idempotency-key": "upload-7" };
    await api("POST", "/v1/usage/batch", { body, headers });
    const again = await api("POST", "/v1/usage/batch", { body, headers });
    expect(again.body.results.map((r: { status: string }) => r.status)).toEqual(["duplicate", "duplicate"]);
    expect(await counterTotal(subjectId, "fax")).toBe(3);
  });
});
