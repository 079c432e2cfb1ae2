import { describe, expect, it } from "vitest";
import { api, counterTotal, flushLedger, uniqueSubject } from "../helpers/api";

const recent = new Date(Date.now() - 3_600_000);

describe("legacy event shapes", () => {
  it("records seed recordUsage as the canonical event", async () => {
    const userId = uniqueSubject();
    const res = await api("POST", "/v1/usage", {
      body: { userId, type: "fax", unitType: "page", usageAmount: "2.5", timestamp: recent.toISOString(), metadata: { jobId: "j1" } },
    });
    expect(res.status).toBe(201);
    await flushLedger(userId);
    const stored = await api("GET", `/v1/usage/${res.body.event.id}`);
    expect(stored.body.event).toMatchObject({
      subjectId: userId,
      meter: "fax",
      unit: "page",
      amount: 2.5,
      timestamp: recent.toISOString(),
      metadata: { jobId: "j1" },
    });
  });

  it("records the seed usage-event message, honouring its idempotency key", async () => {
    const userId = uniqueSubject();
    const body = { userId, entitlementKey: "api_call", amount: 4, idempotencyKey: "msg-1", metadata: { route: "/x" } };
    const first = await api("POST", "/v1/usage", { body });
    const second = await api("POST", "/v1/usage", { body });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(first.body.event).toMatchObject({ subjectId: userId, meter: "api_call", amount: 4, idempotencyKey: "msg-1" });
    expect(await counterTotal(userId, "api_call")).toBe(4);
  });

  it("records a seed pantry log on the pantry, with school, item type and user as dimensions", async () => {
    const pantry = Math.floor(Math.random() * 1e9);
    const when = recent.toISOString().replace("T", " ").slice(0, 19);
    const body = {
      LogID: 77,
      PantryID: pantry,
      SchoolID: 12,
      DateTimeOfUse: when,
      NumberOfItemsTaken: 3,
      ItemType: "canned",
      UserID: "u9",
    };
    const res = await api("POST", "/v1/usage/batch", { body: { events: [body, body] } });
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(["created", "duplicate"]);
    await flushLedger(String(pantry));
    const stored = await api("GET", `/v1/usage/${res.body.results[0].id}`);
    expect(stored.body.event).toMatchObject({
      subjectId: String(pantry),
      meter: "pantry_items",
      unit: "item",
      amount: 3,
      timestamp: `${when.replace(" ", "T")}.000Z`,
      idempotencyKey: "pantry-log:77",
      dimensions: { schoolId: "12", itemType: "canned", userId: "u9" },
    });
  });
});

/** The field paths a 400 names. */
const paths = (res: { body: { error: { details?: { issues: { path: string }[] } } } }) => res.body.error.details?.issues.map((i) => i.path);

describe("strict event shapes (unknown fields never bill)", () => {
  it("refuses a seed recordUsage with a misspelt field instead of billing 1", async () => {
    const userId = uniqueSubject();
    const res = await api("POST", "/v1/usage", { body: { userId, type: "fax", unitType: "page", usageAmount: 1, ammount: 5 } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(paths(res)).toEqual(["ammount"]);
    expect(await counterTotal(userId, "fax")).toBe(0);
  });

  it("refuses a canonical event with a stray userId instead of billing the userId", async () => {
    const subjectId = uniqueSubject();
    const userId = uniqueSubject();
    // Each body is refused; the issues name the unknown fields of the shape it came closest to.
    for (const [body, named] of [
      [{ subjectId, meter: "api_call", userId }, ["userId"]],
      [{ subjectId, meter: "api_call", userId, entitlementKey: "api_call" }, ["userId", "entitlementKey"]],
      [{ subjectId, meter: "api_call", userId, type: "api_call", usageAmount: 1 }, ["subjectId", "meter"]],
    ] as const) {
      const res = await api("POST", "/v1/usage", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(paths(res)).toEqual(named);
    }
    expect(await counterTotal(subjectId, "api_call")).toBe(0);
    expect(await counterTotal(userId, "api_call")).toBe(0);
  });

  it("refuses unknown fields on the seed usage message and pantry log, naming them", async () => {
    const userId = uniqueSubject();
    const message = await api("POST", "/v1/usage", { body: { userId, entitlementKey: "api_call", amount: 2, priority: "high" } });
    expect(message.status).toBe(400);
    expect(paths(message)).toEqual(["priority"]);
    const pantry = Math.floor(Math.random() * 1e9);
    const log = { LogID: 1, PantryID: pantry, DateTimeOfUse: recent.toISOString(), NumberOfItemsTaken: 2, Notes: "x" };
    const res = await api("POST", "/v1/usage/batch", { body: { events: [log] } });
    expect(res.status).toBe(400);
    expect(paths(res)).toEqual(["events.0.Notes"]);
    expect(await counterTotal(userId, "api_call")).toBe(0);
    expect(await counterTotal(String(pantry), "pantry_items")).toBe(0);
  });

  it("refuses a batch envelope with an unknown field and writes none of its events", async () => {
    const subjectId = uniqueSubject();
    for (const path of ["/v1/usage/batch", "/v1/usage/async"]) {
      const res = await api("POST", path, { body: { events: [{ subjectId, meter: "api_call" }], extra: 1 } });
      expect(res.status).toBe(400);
      expect(paths(res)).toEqual(["extra"]);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await counterTotal(subjectId, "api_call")).toBe(0);
  });
});
