import { describe, expect, it } from "vitest";
import { api, flushLedger, userToken } from "../helpers/api";
import { consume, grant, notificationsOf, reserve, rowOf, sleep, subjectWith } from "../helpers/credits";

const FAX_2 = { fax: { limit: 2, enforcement: "hard" } };
const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const grantsOf = (subjectId: string, query = "") => api("GET", `/v1/subjects/${subjectId}/grants${query}`);
const voidGrant = (subjectId: string, grantId: string) => api("POST", `/v1/subjects/${subjectId}/grants/${grantId}/void`);
const draws = (res: { body: { event: { grantDraws: unknown } } }) => res.body.event.grantDraws;

describe("POST grants", () => {
  it("gives credit (201), answers a replay with the same grant (200), and another body under the key with 409", async () => {
    const subjectId = await subjectWith(FAX_2);
    const body = { meter: "fax", amount: 10, idempotencyKey: "promo-1", metadata: { campaign: "spring" } };
    const created = await grant(subjectId, body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.grant).toMatchObject({
      subjectId,
      meter: "fax",
      amount: 10,
      remaining: 10,
      priority: 100,
      expiresAt: null,
      voidedAt: null,
      source: "api",
      idempotencyKey: "promo-1",
      metadata: { campaign: "spring" },
      status: "active",
    });
    expect(Math.abs(Date.parse(created.body.grant.effectiveAt) - Date.now())).toBeLessThan(60_000);

    const replay = await grant(subjectId, body);
    expect(replay.status).toBe(200);
    expect(replay.body.grant).toEqual(created.body.grant);
    // The default priority is what an explicit 100 says.
    expect((await grant(subjectId, { ...body, priority: 100 })).status).toBe(200);
    for (const changed of [{ amount: 11 }, { priority: 1 }, { expiresAt: inDays(3) }, { metadata: {} }, { effectiveAt: inDays(-1) }]) {
      const res = await grant(subjectId, { ...body, ...changed });
      expect(res.status, JSON.stringify(changed)).toBe(409);
      expect(res.body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    }
    const header = await api("POST", `/v1/subjects/${subjectId}/grants`, {
      body: { meter: "fax", amount: 1 },
      headers: { "idempotency-key": "hdr" },
    });
    expect(header.body.grant.idempotencyKey).toBe("hdr");
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, granted: 11, limit: 2, remaining: 13 });
  });

  it("needs a defined counter", async () => {
    const subjectId = await subjectWith(FAX_2);
    const unknown = await grant(subjectId, { meter: "no_such_meter", amount: 1 });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe("UNKNOWN_METER");
    const gauge = await grant(subjectId, { meter: "storage", amount: 1 });
    expect(gauge.status).toBe(422);
    expect(gauge.body.error.code).toBe("NOT_A_COUNTER");
    expect((await grantsOf(subjectId, "?includeInactive=true")).body.data).toEqual([]);
  });

  it("refuses amounts, priorities and times out of bounds, and unknown fields", async () => {
    const subjectId = await subjectWith(FAX_2);
    const ok = { meter: "fax", amount: 1 };
    const bad: [unknown, string][] = [
      [{ ...ok, amount: 0 }, "amount"],
      [{ ...ok, amount: -5 }, "amount"],
      [{ ...ok, amount: 1e12 }, "amount"],
      [{ ...ok, amount: 0.00001 }, "amount"],
      [{ meter: "fax" }, "amount"],
      [{ ...ok, priority: -1 }, "priority"],
      [{ ...ok, priority: 1001 }, "priority"],
      [{ ...ok, priority: 1.5 }, "priority"],
      [{ ...ok, expiresAt: inDays(-1) }, "expiresAt"],
      [{ ...ok, effectiveAt: inDays(5), expiresAt: inDays(4) }, "expiresAt"],
      [{ ...ok, effectiveAt: inDays(5), expiresAt: inDays(5) }, "expiresAt"],
      [{ ...ok, expiresAt: "10000-01-01T00:00:00Z" }, "expiresAt"],
      [{ ...ok, effectiveAt: "1999-12-31T23:59:59Z" }, "effectiveAt"],
      [{ ...ok, expiresAt: "tomorrow" }, "expiresAt"],
      [{ ...ok, expiresAt: 1_900_000_000_000 }, "expiresAt"],
      [{ ...ok, effectiveAt: "2030-02-30T00:00:00Z" }, "effectiveAt"],
      [{ ...ok, meter: "bad meter" }, "meter"],
      [{ ...ok, idempotencyKey: "k\ud800" }, "idempotencyKey"],
      [{ ...ok, metadata: { "n\udc00": 1 } }, "metadata.n\udc00"],
      [{ ...ok, dimensions: {} }, "dimensions"],
      [{ ...ok, subjectId }, "subjectId"],
    ];
    for (const [body, issue] of bad) {
      const res = await grant(subjectId, body);
      expect(res.status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(issue);
    }
    expect((await grantsOf(subjectId, "?includeInactive=true")).body.data).toEqual([]);
  });
});

describe("drawing on grants", () => {
  it("draws the allowance, then grants by priority, earliest expiry (none last), oldest; each event says which", async () => {
    const subjectId = await subjectWith(FAX_2);
    const make = async (body: Record<string, unknown>) => {
      const res = await grant(subjectId, { meter: "fax", ...body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      await sleep(5); // distinct creation times, so "oldest" is well defined
      return res.body.grant.id as string;
    };
    const oldest = await make({ amount: 3 });
    const expiring = await make({ amount: 3, expiresAt: inDays(30) });
    const first = await make({ amount: 2, priority: 10 });
    const youngest = await make({ amount: 3 });
    const later = await make({ amount: 3, expiresAt: inDays(60) });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, granted: 14, remaining: 16 });

    const steps: [number, { grantId: string; amount: number }[]][] = [
      [2, []],
      [
        3,
        [
          { grantId: first, amount: 2 },
          { grantId: expiring, amount: 1 },
        ],
      ],
      [
        4,
        [
          { grantId: expiring, amount: 2 },
          { grantId: later, amount: 2 },
        ],
      ],
      [
        4,
        [
          { grantId: later, amount: 1 },
          { grantId: oldest, amount: 3 },
        ],
      ],
      [3, [{ grantId: youngest, amount: 3 }]],
    ];
    const eventIds: string[] = [];
    for (const [amount, expected] of steps) {
      const res = await consume(subjectId, "fax", { amount });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(draws(res), `consume ${amount}`).toEqual(expected);
      eventIds.push(res.body.event.id);
    }
    const denied = await consume(subjectId, "fax", { amount: 1 });
    expect(denied.status).toBe(402);
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 16, remaining: 0 });

    expect((await grantsOf(subjectId)).body).toEqual({ data: [], nextCursor: null });
    const all = (await grantsOf(subjectId, "?includeInactive=true")).body.data;
    expect(all).toHaveLength(5);
    expect(all.every((g: { status: string; remaining: number }) => g.status === "depleted" && g.remaining === 0)).toBe(true);

    await flushLedger(subjectId);
    const history = await api("GET", `/v1/usage?subjectId=${subjectId}`);
    const byId = new Map(history.body.data.map((e: { id: string; grantDraws: unknown }) => [e.id, e.grantDraws]));
    expect(eventIds.map((id) => byId.get(id))).toEqual(steps.map(([, expected]) => expected));
    const depleted = (await notificationsOf(subjectId)).filter((n) => n.type === "grant.depleted");
    expect(depleted.map((n) => n.payload.grantId).sort()).toEqual([oldest, expiring, first, youngest, later].sort());
  });

  it("lets holds draw on grants too, and counts nothing from expired, scheduled or voided grants", async () => {
    const subjectId = await subjectWith(FAX_2);
    const soon = new Date(Date.now() + 1500).toISOString();
    const expiring = (await grant(subjectId, { meter: "fax", amount: 5, expiresAt: soon })).body.grant;
    const scheduled = (await grant(subjectId, { meter: "fax", amount: 7, effectiveAt: inDays(1) })).body.grant;
    expect(scheduled.status).toBe("scheduled");
    const voided = (await grant(subjectId, { meter: "fax", amount: 9 })).body.grant;
    expect(await rowOf(subjectId, "fax")).toMatchObject({ granted: 14, remaining: 16 });

    const first = await voidGrant(subjectId, voided.id);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ status: "voided", grant: { id: voided.id, status: "voided" } });
    expect(Date.parse(first.body.grant.voidedAt)).toBeGreaterThan(0);
    const again = await voidGrant(subjectId, voided.id);
    expect(again.body).toMatchObject({ status: "already_voided", grant: { voidedAt: first.body.grant.voidedAt } });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ granted: 5, remaining: 7 });

    const held = await reserve(subjectId, "fax", { amount: 7 });
    expect(held.status, JSON.stringify(held.body)).toBe(200);
    expect(held.body).toMatchObject({ used: 0, held: 7, granted: 5, limit: 2, remaining: 0 });
    expect((await reserve(subjectId, "fax", { amount: 1 })).status).toBe(402);
    await api("POST", `/v1/subjects/${subjectId}/reservations/${held.body.reservation.id}/release`);

    await sleep(1600);
    expect((await grantsOf(subjectId)).body.data.map((g: { id: string }) => g.id)).toEqual([scheduled.id]);
    const statuses = Object.fromEntries(
      (await grantsOf(subjectId, "?includeInactive=true")).body.data.map((g: { id: string; status: string }) => [g.id, g.status]),
    );
    expect(statuses).toEqual({ [expiring.id]: "expired", [scheduled.id]: "scheduled", [voided.id]: "voided" });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ granted: 0, remaining: 2 });
    expect((await consume(subjectId, "fax", { amount: 2 })).status).toBe(200);
    expect((await consume(subjectId, "fax", { amount: 1 })).status).toBe(402);
  });
});

describe("GET grants and void", () => {
  it("filters by meter, refuses unknown parameters, and voids only grants it has", async () => {
    const subjectId = await subjectWith({ ...FAX_2, api_call: { limit: 5 } });
    const fax = (await grant(subjectId, { meter: "fax", amount: 1 })).body.grant;
    const calls = (await grant(subjectId, { meter: "api_call", amount: 1 })).body.grant;
    expect((await grantsOf(subjectId, "?meter=fax")).body.data.map((g: { id: string }) => g.id)).toEqual([fax.id]);
    expect((await grantsOf(subjectId, "?meter=api_call&includeInactive=false")).body.data.map((g: { id: string }) => g.id)).toEqual([
      calls.id,
    ]);
    for (const query of ["?includeInactive=yes", "?meter=bad%20meter", "?limit=10", "?cursor=x", "?status=active"]) {
      const res = await grantsOf(subjectId, query);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
    for (const id of ["grt_nope", "__proto__", "constructor", "valueOf", "%ED%A0%80"]) {
      const res = await voidGrant(subjectId, id);
      expect(res.status, id).toBe(404);
      expect(res.body.error.code).toBe("NOT_FOUND");
    }
    const other = await subjectWith(FAX_2);
    expect((await voidGrant(other, fax.id)).status).toBe(404);
    expect(await rowOf(subjectId, "fax")).toMatchObject({ granted: 1 });
  });

  it("lets a user token read its own grants only, and write none", async () => {
    const subjectId = await subjectWith(FAX_2);
    const given = (await grant(subjectId, { meter: "fax", amount: 4 })).body.grant;
    const mine = await userToken(subjectId);
    expect((await grantsOf(subjectId)).body.data).toHaveLength(1);
    expect((await api("GET", `/v1/subjects/${subjectId}/grants`, { token: mine })).body.data[0].id).toBe(given.id);
    expect((await api("GET", `/v1/subjects/${subjectId}/grants`, { token: await userToken("intruder") })).status).toBe(403);
    for (const [p, body] of [
      [`/v1/subjects/${subjectId}/grants`, { meter: "fax", amount: 1 }],
      [`/v1/subjects/${subjectId}/grants/${given.id}/void`, undefined],
    ] as const) {
      expect((await api("POST", p, { body, token: mine })).status).toBe(403);
      expect((await api("POST", p, { body, token: null })).status).toBe(401);
    }
    expect((await grantsOf(subjectId)).body.data).toEqual([given]);
  });
});
