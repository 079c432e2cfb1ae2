import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { beforeAll, describe, expect, it } from "vitest";
import { api } from "../helpers/api";
import { crossThreshold, pendingDelivery, type Received, receivedAt, subscribe } from "../helpers/outbound-webhooks";
import { deliver } from "../helpers/queue";
import { describeRouteMatrix } from "../helpers/route-matrix";

const hook = (name: string) => `${env.TEST_RECEIVER_URL}/hook/${name}`;

async function auditOf(targetType: string, targetId: string): Promise<{ action: string; actor: { type: string } }[]> {
  const res = await api("GET", `/v1/audit-log?targetType=${targetType}&targetId=${encodeURIComponent(targetId)}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(JSON.stringify(res.body)).not.toContain("whsec_");
  return res.body.data;
}

/** Each `v1,…` signature of a delivery checked on its own, by the Standard Webhooks library. */
function verifiesEach(request: Received, secrets: string[]): boolean[][] {
  const signatures = request.headers["webhook-signature"]!.split(" ");
  return secrets.map((secret) =>
    signatures.map((signature) => {
      try {
        new Webhook(secret).verify(request.body, { ...request.headers, "webhook-signature": signature });
        return true;
      } catch {
        return false;
      }
    }),
  );
}

async function testCall(endpointId: string) {
  const res = await api("POST", `/v1/webhook-endpoints/${endpointId}/test`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.delivery;
}

beforeAll(async () => {
  await subscribe("matrix-ops", "ok-matrix-ops", ["period.closed"]);
});

describeRouteMatrix([
  {
    name: "/v1/webhook-endpoints",
    method: "GET",
    path: "/v1/webhook-endpoints",
    invalidPath: "/v1/webhook-endpoints?limit=0",
    ok: 200,
  },
  {
    name: "/v1/webhook-endpoints/{id}/test",
    method: "POST",
    path: "/v1/webhook-endpoints/matrix-ops/test",
    invalidPath: "/v1/webhook-endpoints/-x/test",
    ok: 200,
  },
  {
    name: "/v1/webhook-endpoints/{id}/rotate-secret",
    method: "POST",
    path: "/v1/webhook-endpoints/matrix-ops/rotate-secret",
    body: { overlapSeconds: 60 },
    invalidBody: { overlapSeconds: -1 },
    ok: 200,
  },
  {
    name: "/v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver",
    method: "POST",
    path: "/v1/webhook-endpoints/matrix-ops/deliveries/ntf_none:matrix-ops/redeliver",
    invalidPath: "/v1/webhook-endpoints/-x/deliveries/d/redeliver",
    ok: 404,
  },
]);

describe("webhook endpoint operations", () => {
  it("refuses a key without the admin scope on every new route", async () => {
    const key = await api("POST", "/v1/api-keys", { body: { name: "reader", scopes: ["usage:read"] } });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    const token = key.body.secret as string;
    for (const [method, path] of [
      ["GET", "/v1/webhook-endpoints"],
      ["POST", "/v1/webhook-endpoints/matrix-ops/test"],
      ["POST", "/v1/webhook-endpoints/matrix-ops/rotate-secret"],
      ["POST", "/v1/webhook-endpoints/matrix-ops/deliveries/x/redeliver"],
    ] as const) {
      const res = await api(method, path, { token });
      expect(res.status, path).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
  });

  it("lists every endpoint once, in id order, across pages, never with a secret", async () => {
    for (let n = 0; n < 7; n += 1) await subscribe(`list-${n}`, `ok-list-${n}`, ["period.closed"]);
    const seen: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: any } = await api(
        "GET",
        `/v1/webhook-endpoints?limit=2${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data);
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 100);

    const { results } = await env.DB.prepare("SELECT id FROM webhook_endpoints ORDER BY id").all<{ id: string }>();
    expect(seen.map((e) => e.id)).toEqual(results.map((r) => r.id));
    expect(seen.map((e) => e.id)).toEqual(expect.arrayContaining(["list-0", "list-6"]));
    expect(JSON.stringify(seen)).not.toContain("whsec_");
    expect(seen.every((e) => !("secret" in e))).toBe(true);
    // The list shows each endpoint as the single read does.
    const single = await api("GET", "/v1/webhook-endpoints/list-3");
    expect(seen.find((e) => e.id === "list-3")).toEqual(single.body.endpoint);
    expect(single.body.endpoint).toMatchObject({ url: hook("ok-list-3"), events: ["period.closed"], secretRotatingUntil: null });
  });

  it.each([
    "limit=0",
    "limit=501",
    "limit=two",
    "cursor=not-a-cursor",
    // A cursor of another list.
    `cursor=${btoa(JSON.stringify(["api-keys", ["list-1"]])).replaceAll("=", "")}`,
    "prefix=list",
  ])("refuses GET /v1/webhook-endpoints?%s with 400", async (query) => {
    const res = await api("GET", `/v1/webhook-endpoints?${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
  });

  it("sends a signed webhook.test now, logs it, and counts it as no subject's notification", async () => {
    const secret = await subscribe("ops-test", "ok-ops-test", ["period.closed"]);
    const delivery = await testCall("ops-test");
    expect(delivery).toMatchObject({ eventType: "webhook.test", status: "succeeded", attempts: 1, lastStatusCode: 200, lastError: null });
    expect(delivery.durationMs).toBeGreaterThanOrEqual(0);
    expect(delivery.durationMs).toBeLessThan(10_000);

    const [request, ...more] = await receivedAt("ok-ops-test");
    expect(more).toEqual([]);
    expect(request!.headers["webhook-id"]).toBe(delivery.notificationId);
    const payload = new Webhook(secret).verify(request!.body, request!.headers) as { type: string; data: Record<string, unknown> };
    expect(payload.type).toBe("webhook.test");
    expect(payload.data).toEqual({ endpointId: "ops-test", sentAt: expect.any(String) });
    expect(Math.abs(Date.parse(payload.data.sentAt as string) - Date.now())).toBeLessThan(60_000);

    const log = await api("GET", "/v1/webhook-endpoints/ops-test/deliveries");
    const { durationMs: _durationMs, ...logged } = delivery;
    expect(log.body.data).toEqual([logged]);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM notifications WHERE id = ?").bind(delivery.notificationId).first("n");
    expect(stored).toBe(0);
  });

  it("answers 200 with the failure when the endpoint fails, refuses the connection or is not allowed", async () => {
    await subscribe("ops-down", "down-ops", ["period.closed"]);
    expect(await testCall("ops-down")).toMatchObject({ status: "failed", attempts: 1, lastStatusCode: 503, lastError: "HTTP 503" });
    expect(await receivedAt("down-ops")).toHaveLength(1);

    // Nothing listens on port 1.
    await api("PUT", "/v1/webhook-endpoints/ops-closed", { body: { url: "http://127.0.0.1:1/hook", events: ["period.closed"] } });
    const closed = await testCall("ops-closed");
    expect(closed).toMatchObject({ status: "failed", lastStatusCode: null });
    expect(closed.lastError).toBeTruthy();

    await subscribe("ops-redirect", "redirect-ops", ["period.closed"]);
    const redirected = await testCall("ops-redirect");
    expect(redirected).toMatchObject({ status: "failed", lastStatusCode: 302 });
    expect(redirected.lastError).toContain("redirects are not followed");
    expect(await receivedAt("ok-redirected-redirect-ops")).toHaveLength(0);

    // Saved before the URL rules existed: refused at sending, the same as any delivery.
    const port = new URL(env.TEST_RECEIVER_URL).port;
    await env.DB.prepare(
      "INSERT INTO webhook_endpoints (id, url, events, description, secret, created_at, updated_at) VALUES ('ops-mapped', ?, '[\"period.closed\"]', NULL, 'whsec_b2xk', 0, 0)",
    )
      .bind(`http://[::ffff:127.0.0.1]:${port}/hook/ok-ops-mapped`)
      .run();
    const mapped = await testCall("ops-mapped");
    expect(mapped).toMatchObject({ status: "failed", lastStatusCode: null });
    expect(mapped.lastError).toContain("IPv4-mapped");
    expect(await receivedAt("ok-ops-mapped")).toHaveLength(0);

    const log = await api("GET", "/v1/webhook-endpoints/ops-down/deliveries");
    expect(log.body.data).toEqual([expect.objectContaining({ eventType: "webhook.test", status: "failed", lastStatusCode: 503 })]);
    expect((await api("POST", "/v1/webhook-endpoints/ops-nobody/test")).status).toBe(404);
  });

  it("redelivers a delivered notification with the same webhook-id and body, through the queue", async () => {
    const secret = await subscribe("ops-redeliver", "ok-ops-redeliver", ["entitlement.threshold_reached"]);
    await crossThreshold("ops-redeliver-plan");
    await expect.poll(async () => (await receivedAt("ok-ops-redeliver")).length, { timeout: 15_000, interval: 200 }).toBe(1);
    const [first] = (await api("GET", "/v1/webhook-endpoints/ops-redeliver/deliveries")).body.data;
    expect(first).toMatchObject({ status: "succeeded", attempts: 1 });

    const res = await api("POST", `/v1/webhook-endpoints/ops-redeliver/deliveries/${encodeURIComponent(first.id)}/redeliver`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.delivery).toMatchObject({ id: first.id, notificationId: first.notificationId, status: "pending", attempts: 1 });

    await expect.poll(async () => (await receivedAt("ok-ops-redeliver")).length, { timeout: 15_000, interval: 200 }).toBe(2);
    const [a, b] = await receivedAt("ok-ops-redeliver");
    expect(b!.headers["webhook-id"]).toBe(a!.headers["webhook-id"]);
    expect(b!.headers["webhook-id"]).toBe(first.notificationId);
    expect(b!.body).toBe(a!.body);
    new Webhook(secret).verify(b!.body, b!.headers);
    await expect
      .poll(async () => (await api("GET", "/v1/webhook-endpoints/ops-redeliver/deliveries")).body.data[0], {
        timeout: 15_000,
        interval: 200,
      })
      .toMatchObject({ id: first.id, status: "succeeded", attempts: 2, lastStatusCode: 200 });

    const audit = await auditOf("webhook_delivery", first.id);
    expect(audit.map((e) => e.action)).toEqual(["webhook_delivery.redeliver"]);
    expect(audit[0]).toMatchObject({ actor: { type: "root", id: null }, before: { status: "succeeded" }, after: { status: "pending" } });

    // Not this endpoint's delivery, no such delivery, no such endpoint.
    await subscribe("ops-other", "ok-ops-other", ["period.closed"]);
    for (const path of [
      `/v1/webhook-endpoints/ops-other/deliveries/${encodeURIComponent(first.id)}/redeliver`,
      "/v1/webhook-endpoints/ops-redeliver/deliveries/ntf_nothing:ops-redeliver/redeliver",
      `/v1/webhook-endpoints/ops-nobody/deliveries/${encodeURIComponent(first.id)}/redeliver`,
    ]) {
      const missing = await api("POST", path);
      expect(missing.status, path).toBe(404);
      expect(missing.body.error.code).toBe("NOT_FOUND");
    }
  });

  it("answers 404 with the reason for a delivery whose notification is not kept", async () => {
    await subscribe("ops-gone", "ok-ops-gone", ["usage.recorded"]);
    await pendingDelivery({ id: "ntf_usage_gone", type: "usage.recorded" }, "ops-gone");
    const usage = await api("POST", "/v1/webhook-endpoints/ops-gone/deliveries/ntf_usage_gone:ops-gone/redeliver");
    expect(usage.status).toBe(404);
    expect(usage.body.error).toMatchObject({
      code: "NOT_FOUND",
      details: { notificationId: "ntf_usage_gone", reason: "notification_not_kept" },
    });

    const test = await testCall("ops-gone");
    const again = await api("POST", `/v1/webhook-endpoints/ops-gone/deliveries/${encodeURIComponent(test.id)}/redeliver`);
    expect(again.status).toBe(404);
    expect(again.body.error.details).toMatchObject({ reason: "test_event" });
    // Neither changed the log, nor was audited.
    const log = await api("GET", "/v1/webhook-endpoints/ops-gone/deliveries");
    expect(log.body.data.find((d: { id: string }) => d.id === "ntf_usage_gone:ops-gone")).toMatchObject({ status: "pending", attempts: 0 });
    expect(await auditOf("webhook_delivery", "ntf_usage_gone:ops-gone")).toEqual([]);
  });

  it("signs with the new and the old secret during the overlap, new first, then with the new only", async () => {
    const oldSecret = await subscribe("ops-rotate", "ok-ops-rotate", ["period.closed"]);
    const res = await api("POST", "/v1/webhook-endpoints/ops-rotate/rotate-secret", { body: { overlapSeconds: 3600 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const newSecret: string = res.body.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(res.body.endpoint.secret).toBeUndefined();
    const until = Date.parse(res.body.endpoint.secretRotatingUntil);
    expect(Math.abs(until - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    expect((await api("GET", "/v1/webhook-endpoints/ops-rotate")).body.endpoint.secretRotatingUntil).toBe(
      res.body.endpoint.secretRotatingUntil,
    );

    // A test call and a queued delivery alike carry both.
    await testCall("ops-rotate");
    const notification = { id: "ntf_rotate_1", type: "period.closed", subjectId: "s", createdAt: Date.now(), payload: {} };
    await pendingDelivery(notification, "ops-rotate");
    await deliver("notifications", [{ body: { kind: "deliver", notification, endpointId: "ops-rotate" } }]);
    const during = await receivedAt("ok-ops-rotate");
    expect(during).toHaveLength(2);
    for (const request of during) {
      expect(request.headers["webhook-signature"]).toMatch(/^v1,\S+ v1,\S+$/);
      expect(verifiesEach(request, [newSecret, oldSecret])).toEqual([
        [true, false],
        [false, true],
      ]);
      // A receiver holding either secret accepts the whole header.
      new Webhook(newSecret).verify(request.body, request.headers);
      new Webhook(oldSecret).verify(request.body, request.headers);
    }

    // The overlap is over.
    await env.DB.prepare("UPDATE webhook_endpoints SET previous_secret_expires_at = ? WHERE id = 'ops-rotate'")
      .bind(Date.now() - 1)
      .run();
    expect((await api("GET", "/v1/webhook-endpoints/ops-rotate")).body.endpoint.secretRotatingUntil).toBeNull();
    await testCall("ops-rotate");
    const after = (await receivedAt("ok-ops-rotate"))[2]!;
    expect(after.headers["webhook-signature"]).toMatch(/^v1,\S+$/);
    new Webhook(newSecret).verify(after.body, after.headers);
    expect(() => new Webhook(oldSecret).verify(after.body, after.headers)).toThrow();
  });

  it("rotating during an overlap drops the oldest secret; 0 and PUT's rotateSecret end the overlap at once", async () => {
    const first = await subscribe("ops-rerotate", "ok-ops-rerotate", ["period.closed"]);
    const second = (await api("POST", "/v1/webhook-endpoints/ops-rerotate/rotate-secret", { body: { overlapSeconds: 600 } })).body.secret;
    // No body: the default overlap of a day.
    const third = await api("POST", "/v1/webhook-endpoints/ops-rerotate/rotate-secret");
    expect(third.status).toBe(200);
    expect(Math.abs(Date.parse(third.body.endpoint.secretRotatingUntil) - (Date.now() + 86_400_000))).toBeLessThan(60_000);
    await testCall("ops-rerotate");
    const [twoSecrets] = await receivedAt("ok-ops-rerotate");
    expect(verifiesEach(twoSecrets!, [third.body.secret, second, first])).toEqual([
      [true, false],
      [false, true],
      [false, false],
    ]);

    // PUT without rotateSecret keeps the overlap; with it, the new secret alone signs.
    const kept = await api("PUT", "/v1/webhook-endpoints/ops-rerotate", {
      body: { url: hook("ok-ops-rerotate"), events: ["usage.recorded"] },
    });
    expect(kept.body.endpoint.secretRotatingUntil).toBe(third.body.endpoint.secretRotatingUntil);
    const put = await api("PUT", "/v1/webhook-endpoints/ops-rerotate", {
      body: { url: hook("ok-ops-rerotate"), events: ["usage.recorded"], rotateSecret: true },
    });
    expect(put.body.endpoint).toMatchObject({ secret: expect.stringMatching(/^whsec_/), secretRotatingUntil: null });
    await testCall("ops-rerotate");
    const afterPut = (await receivedAt("ok-ops-rerotate"))[1]!;
    expect(verifiesEach(afterPut, [put.body.endpoint.secret, third.body.secret])).toEqual([[true], [false]]);

    const zero = await api("POST", "/v1/webhook-endpoints/ops-rerotate/rotate-secret", { body: { overlapSeconds: 0 } });
    expect(zero.body.endpoint.secretRotatingUntil).toBeNull();
    await testCall("ops-rerotate");
    const afterZero = (await receivedAt("ok-ops-rerotate"))[2]!;
    expect(verifiesEach(afterZero, [zero.body.secret, put.body.endpoint.secret])).toEqual([[true], [false]]);
  });

  it.each([
    [{ overlapSeconds: -1 }],
    [{ overlapSeconds: 604_801 }],
    [{ overlapSeconds: 1.5 }],
    [{ overlapSeconds: "60" }],
    [{ overlapSeconds: null }],
    [{ overlap: 60 }],
    [[]],
  ])("refuses rotate-secret with %j and changes nothing", async (body) => {
    await api("PUT", "/v1/webhook-endpoints/ops-invalid", { body: { url: hook("ok-ops-invalid"), events: ["period.closed"] } });
    const before = await env.DB.prepare("SELECT secret FROM webhook_endpoints WHERE id = 'ops-invalid'").first("secret");
    const res = await api("POST", "/v1/webhook-endpoints/ops-invalid/rotate-secret", { body });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(await env.DB.prepare("SELECT secret FROM webhook_endpoints WHERE id = 'ops-invalid'").first("secret")).toBe(before);
  });

  it("refuses malformed JSON and unknown endpoints on rotate-secret; takes the longest overlap", async () => {
    await api("PUT", "/v1/webhook-endpoints/ops-limits", { body: { url: hook("ok-ops-limits"), events: ["period.closed"] } });
    expect((await api("POST", "/v1/webhook-endpoints/ops-limits/rotate-secret", { rawBody: "{" })).status).toBe(400);
    expect((await api("POST", "/v1/webhook-endpoints/ops-nobody/rotate-secret", { body: {} })).status).toBe(404);
    const longest = await api("POST", "/v1/webhook-endpoints/ops-limits/rotate-secret", { body: { overlapSeconds: 604_800 } });
    expect(longest.status).toBe(200);
  });

  it("writes one audit entry per change, never with a secret", async () => {
    const created = await subscribe("ops-audit", "ok-ops-audit", ["period.closed"]);
    const updated = await api("PUT", "/v1/webhook-endpoints/ops-audit", {
      body: { url: hook("ok-ops-audit"), events: ["usage.recorded"] },
    });
    expect(updated.status).toBe(200);
    const rotatedByPut = await api("PUT", "/v1/webhook-endpoints/ops-audit", {
      body: { url: hook("ok-ops-audit"), events: ["usage.recorded"], rotateSecret: true },
    });
    const rotated = await api("POST", "/v1/webhook-endpoints/ops-audit/rotate-secret", { body: { overlapSeconds: 60 } });
    await testCall("ops-audit");
    expect((await api("DELETE", "/v1/webhook-endpoints/ops-audit")).status).toBe(200);
    // Refused writes are not logged.
    expect((await api("DELETE", "/v1/webhook-endpoints/ops-audit")).status).toBe(404);

    const entries = await auditOf("webhook_endpoint", "ops-audit");
    expect(entries.map((e) => e.action)).toEqual([
      "webhook_endpoint.delete",
      "webhook_endpoint.test",
      "webhook_endpoint.rotate_secret",
      "webhook_endpoint.put",
      "webhook_endpoint.put",
      "webhook_endpoint.put",
    ]);
    const text = JSON.stringify(entries);
    for (const secret of [created, rotatedByPut.body.endpoint.secret, rotated.body.secret]) expect(text).not.toContain(secret.slice(6));
    const [deleted, tested, rotation, rotatingPut, , creation] = entries as any[];
    expect(creation).toMatchObject({
      actor: { type: "root", id: null },
      before: null,
      after: { id: "ops-audit", events: ["period.closed"] },
    });
    expect(rotatingPut.after).toMatchObject({ secretRotated: true, events: ["usage.recorded"] });
    expect(rotation.after.previousSecretExpiresAt).toEqual(expect.any(String));
    expect(tested).toMatchObject({ before: null, after: { status: "succeeded", statusCode: 200 } });
    expect(deleted).toMatchObject({ before: { id: "ops-audit" }, after: null });
  });

  it("keeps every secret it hands out when rotations and PUTs race", async () => {
    await subscribe("ops-race", "ok-ops-race", ["period.closed"]);
    for (let round = 0; round < 5; round++) {
      const [a, b, put] = await Promise.all([
        api("POST", "/v1/webhook-endpoints/ops-race/rotate-secret", { body: { overlapSeconds: 600 } }),
        api("POST", "/v1/webhook-endpoints/ops-race/rotate-secret", { body: { overlapSeconds: 600 } }),
        api("PUT", "/v1/webhook-endpoints/ops-race", {
          body: { url: `${env.TEST_RECEIVER_URL}/hook/ok-ops-race`, events: ["period.closed"] },
        }),
      ]);
      expect([a.status, b.status, put.status]).toEqual([200, 200, 200]);
      // The later rotation keeps the earlier one's secret as its previous: both still sign.
      const row = await env.DB.prepare("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = 'ops-race'").first<{
        secret: string;
        previous_secret: string;
      }>();
      expect([row!.secret, row!.previous_secret].sort()).toEqual([a.body.secret, b.body.secret].sort());
    }
  });
});
