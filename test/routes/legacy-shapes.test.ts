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
