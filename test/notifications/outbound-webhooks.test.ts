import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { api, uniqueSubject } from "../helpers/api";
import { crossThreshold, pendingDelivery, receivedAt, subscribe } from "../helpers/outbound-webhooks";
import { deliver } from "../helpers/queue";

describe("outbound notifications", () => {
  it("deliver a threshold crossing exactly once per subscribed endpoint, signed per Standard Webhooks", async () => {
    const secretA = await subscribe("ep-a", "ok-a", ["entitlement.threshold_reached"]);
    const secretB = await subscribe("ep-b", "ok-b", ["entitlement.threshold_reached", "period.closed"]);
    await subscribe("ep-c", "ok-c", ["period.closed"]);
    const subjectId = await crossThreshold("ntf-plan");

    await expect.poll(async () => (await receivedAt("ok-a")).length, { timeout: 15_000, interval: 200 }).toBe(1);
    await expect.poll(async () => (await receivedAt("ok-b")).length, { timeout: 15_000, interval: 200 }).toBe(1);
    const [a] = await receivedAt("ok-a");
    const [b] = await receivedAt("ok-b");
    // Verified by the Standard Webhooks library, not by the code that signed.
    const payloadA = new Webhook(secretA).verify(a!.body, a!.headers) as { type: string; data: Record<string, unknown> };
    new Webhook(secretB).verify(b!.body, b!.headers);
    expect(() => new Webhook(secretB).verify(a!.body, a!.headers)).toThrow();
    expect(payloadA).toMatchObject({
      type: "entitlement.threshold_reached",
      data: { subjectId, meter: "api_call", threshold: 50, limit: 10 },
    });
    expect(a!.headers["webhook-id"]).toBe(b!.headers["webhook-id"]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await receivedAt("ok-a")).toHaveLength(1);
    expect(await receivedAt("ok-c")).toHaveLength(0);

    const log = await api("GET", "/v1/webhook-endpoints/ep-a/deliveries");
    expect(log.body.data).toEqual([
      expect.objectContaining({ eventType: "entitlement.threshold_reached", status: "succeeded", attempts: 1, lastStatusCode: 200 }),
    ]);
  });

  it("retries an endpoint that fails twice and delivers on the third attempt", async () => {
    await subscribe("ep-flaky", "flaky-1", ["entitlement.limit_reached"]);
    const notification = {
      id: "ntf_flaky_1",
      type: "entitlement.limit_reached",
      subjectId: "s",
      createdAt: Date.now(),
      payload: { meter: "fax" },
    };
    const message = { id: "m-flaky", body: { kind: "deliver", notification, endpointId: "ep-flaky" } };
    await pendingDelivery(notification, "ep-flaky");

    const delays: (number | undefined)[] = [];
    for (const attempts of [1, 2, 3]) {
      const { result, delays: d } = await deliver("notifications", [{ ...message, attempts }]);
      if (attempts < 3) {
        expect(result.retryMessages.map((r) => r.msgId)).toEqual(["m-flaky"]);
        delays.push(d["m-flaky"]);
      } else {
        expect(result.explicitAcks).toEqual(["m-flaky"]);
      }
    }
    expect(delays).toEqual([10, 20]);
    expect(await receivedAt("flaky-1")).toHaveLength(3);
    const log = await api("GET", "/v1/webhook-endpoints/ep-flaky/deliveries");
    expect(log.body.data[0]).toMatchObject({ status: "succeeded", attempts: 3, lastStatusCode: 200 });
  });

  it("end a permanently failing delivery in the dead-letter queue, and the log says why", async () => {
    await subscribe("ep-down", "down-1", ["period.closed"]);
    const notification = { id: "ntf_down_1", type: "period.closed", subjectId: "s", createdAt: Date.now(), payload: {} };
    const message = { id: "m-down", body: { kind: "deliver", notification, endpointId: "ep-down" } };
    await pendingDelivery(notification, "ep-down");
    for (const attempts of [1, 2]) await deliver("notifications", [{ ...message, attempts }]);
    const { result } = await deliver("notifications-dlq", [{ ...message, attempts: 9 }]);
    expect(result.ackAll).toBe(true);
    const log = await api("GET", "/v1/webhook-endpoints/ep-down/deliveries");
    expect(log.body.data[0]).toMatchObject({
      status: "failed",
      attempts: 2,
      lastStatusCode: 503,
      lastError: "retries exhausted; last: HTTP 503",
    });
  });

  it("send usage.recorded once per flush with the flushed events", async () => {
    const secret = await subscribe("ep-usage", "ok-usage", ["usage.recorded"]);
    const subjectId = uniqueSubject("inv");
    await api("POST", "/v1/usage/batch", {
      body: {
        events: [1, 2, 3].map((n) => ({
          subjectId,
          meter: "pantry_items",
          amount: n,
          dimensions: { pantryId: "P1", itemType: "canned" },
          idempotencyKey: `p${n}`,
        })),
      },
    });
    await expect
      .poll(async () => (await receivedAt("ok-usage")).filter((r) => r.body.includes(subjectId)).length, { timeout: 15_000, interval: 200 })
      .toBe(1);
    const mine = (await receivedAt("ok-usage")).find((r) => r.body.includes(subjectId))!;
    const payload = new Webhook(secret).verify(mine.body, mine.headers) as {
      type: string;
      data: { subjectId: string; events: { amount: number }[] };
    };
    expect(payload.type).toBe("usage.recorded");
    expect(payload.data.subjectId).toBe(subjectId);
    expect(payload.data.events.map((e) => e.amount)).toEqual([1, 2, 3]);
  });

  it("manages endpoints: secret answered once, rotation, validation, deletion", async () => {
    await subscribe("ep-crud", "ok-crud", ["period.closed"]);
    const read = await api("GET", "/v1/webhook-endpoints/ep-crud");
    expect(read.body.endpoint.secret).toBeUndefined();
    const update = await api("PUT", "/v1/webhook-endpoints/ep-crud", {
      body: { url: `${env.TEST_RECEIVER_URL}/hook/ok-crud`, events: ["usage.recorded"] },
    });
    expect(update.status).toBe(200);
    expect(update.body.endpoint.secret).toBeUndefined();
    const rotated = await api("PUT", "/v1/webhook-endpoints/ep-crud", {
      body: { url: `${env.TEST_RECEIVER_URL}/hook/ok-crud`, events: ["usage.recorded"], rotateSecret: true },
    });
    expect(rotated.body.endpoint.secret).toMatch(/^whsec_/);
    expect((await api("PUT", "/v1/webhook-endpoints/ep-bad", { body: { url: "ftp://x", events: ["usage.recorded"] } })).status).toBe(400);
    expect((await api("PUT", "/v1/webhook-endpoints/ep-bad", { body: { url: "https://x.test", events: ["nope"] } })).status).toBe(400);
    expect((await api("DELETE", "/v1/webhook-endpoints/ep-crud")).status).toBe(200);
    expect((await api("DELETE", "/v1/webhook-endpoints/ep-crud")).status).toBe(404);
  });

  // Server-side request forgery: the service POSTs signed bodies wherever an endpoint points.
  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/",
    "http://10.0.0.1/hook",
    "https://192.168.0.10/hook",
    "https://[fd00::1]/hook",
    "https://[fd00:ec2::254]/",
    "https://user:pass@example.com/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "https://metadata.google.internal/",
    "https://100.64.0.1/",
    "http://example.com/hook",
    "https://printer.local/hook",
  ])("refuses to subscribe %s with 400 on url", async (url) => {
    const res = await api("PUT", "/v1/webhook-endpoints/ep-ssrf", { body: { url, events: ["period.closed"] } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details.issues).toEqual([expect.objectContaining({ path: "url" })]);
    expect((await api("GET", "/v1/webhook-endpoints/ep-ssrf")).status).toBe(404);
  });

  it("never follows a redirect: a 302 is a failed attempt and its target receives nothing", async () => {
    await subscribe("ep-redirect", "redirect-1", ["period.closed"]);
    const notification = { id: "ntf_redirect_1", type: "period.closed", subjectId: "s", createdAt: Date.now(), payload: {} };
    const message = { id: "m-redirect", body: { kind: "deliver", notification, endpointId: "ep-redirect" } };
    await pendingDelivery(notification, "ep-redirect");

    const { result } = await deliver("notifications", [message]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual(["m-redirect"]);
    expect(await receivedAt("redirect-1")).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await receivedAt("ok-redirected-redirect-1")).toHaveLength(0);
    const log = await api("GET", "/v1/webhook-endpoints/ep-redirect/deliveries");
    expect(log.body.data[0]).toMatchObject({ status: "pending", attempts: 1, lastStatusCode: 302 });
    expect(log.body.data[0].lastError).toContain("redirect");

    await deliver("notifications-dlq", [{ ...message, attempts: 9 }]);
    const final = await api("GET", "/v1/webhook-endpoints/ep-redirect/deliveries");
    expect(final.body.data[0]).toMatchObject({ status: "failed", lastStatusCode: 302 });
  });

  it("checks the URL again at delivery: an endpoint saved before the rules is refused, not called, not retried", async () => {
    // An IPv4-mapped form of the receiver's loopback address: reachable, and never allowed.
    const port = new URL(env.TEST_RECEIVER_URL).port;
    const url = `http://[::ffff:127.0.0.1]:${port}/hook/ok-mapped`;
    await env.DB.prepare(
      "INSERT INTO webhook_endpoints (id, url, events, description, secret, created_at, updated_at) VALUES ('ep-old', ?, '[\"period.closed\"]', NULL, 'whsec_b2xk', 0, 0)",
    )
      .bind(url)
      .run();
    const notification = { id: "ntf_old_1", type: "period.closed", subjectId: "s", createdAt: Date.now(), payload: {} };
    await pendingDelivery(notification, "ep-old");
    const { result } = await deliver("notifications", [{ id: "m-old", body: { kind: "deliver", notification, endpointId: "ep-old" } }]);
    expect(result.explicitAcks).toEqual(["m-old"]);
    expect(result.retryMessages).toEqual([]);
    expect(await receivedAt("ok-mapped")).toHaveLength(0);
    const log = await api("GET", "/v1/webhook-endpoints/ep-old/deliveries");
    expect(log.body.data[0]).toMatchObject({ status: "failed", lastStatusCode: null });
    expect(log.body.data[0].lastError).toContain("IPv4-mapped");
  });
});
