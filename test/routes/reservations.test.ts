import { describe, expect, it, vi } from "vitest";
import { api, breakLedger, counterTotal, flushLedger, historyRows, uniqueSubject, userToken } from "../helpers/api";
import { commit, consume, notificationsOf, release, reserve, rowOf, sleep, subjectWith } from "../helpers/credits";

const FAX_10 = { fax: { limit: 10, enforcement: "hard" } };
const path = (subjectId: string, reservationId = "") =>
  `/v1/subjects/${subjectId}/reservations${reservationId === "" ? "" : `/${reservationId}`}`;

describe("reserve → commit", () => {
  it("holds against the limit, then records the held amount, once", async () => {
    const subjectId = await subjectWith(FAX_10);
    const held = await reserve(subjectId, "fax", { amount: 3, dimensions: { schoolId: "S1" }, metadata: { faxId: "f1" } });
    expect(held.status, JSON.stringify(held.body)).toBe(200);
    expect(held.body).toMatchObject({ status: "created", allowed: true, used: 0, held: 3, granted: 0, limit: 10, remaining: 7 });
    const reservation = held.body.reservation;
    expect(reservation).toMatchObject({
      subjectId,
      meter: "fax",
      unit: "page",
      amount: 3,
      status: "held",
      committedAmount: null,
      resolvedAt: null,
      eventId: null,
      idempotencyKey: null,
      dimensions: { schoolId: "S1" },
      metadata: { faxId: "f1" },
    });
    expect(Date.parse(reservation.expiresAt) - Date.parse(reservation.createdAt)).toBe(900_000);
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 3, granted: 0, limit: 10, remaining: 7 });
    expect(await counterTotal(subjectId, "fax")).toBe(0);

    const committed = await commit(subjectId, reservation.id);
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    expect(committed.body).toMatchObject({ status: "committed", overage: false });
    expect(committed.body.event).toMatchObject({
      subjectId,
      meter: "fax",
      amount: 3,
      source: "reservation",
      dimensions: { schoolId: "S1" },
    });
    expect(committed.body.reservation).toMatchObject({ status: "committed", committedAmount: 3, eventId: committed.body.event.id });
    expect(Date.parse(committed.body.reservation.resolvedAt)).toBeGreaterThan(0);
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 3, held: 0, remaining: 7 });

    const again = await commit(subjectId, reservation.id);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: "already_committed", event: { id: committed.body.event.id } });
    const same = await commit(subjectId, reservation.id, { amount: 3 });
    expect(same.body).toMatchObject({ status: "already_committed", event: { id: committed.body.event.id } });

    const other = await commit(subjectId, reservation.id, { amount: 2 });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    const late = await release(subjectId, reservation.id);
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: "RESERVATION_NOT_HELD", details: { status: "committed" } });

    expect(await counterTotal(subjectId, "fax")).toBe(3);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(1);
    const read = await api("GET", path(subjectId, reservation.id));
    expect(read.body.reservation).toEqual(committed.body.reservation);
  });

  it("commits less (the rest is released), equal, and more (recorded; overage past the hard limit)", async () => {
    const subjectId = await subjectWith(FAX_10);
    const ids = [];
    for (const amount of [5, 2, 2]) ids.push((await reserve(subjectId, "fax", { amount })).body.reservation.id);
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 9, remaining: 1 });

    const less = await commit(subjectId, ids[0], { amount: 1 });
    expect(less.body).toMatchObject({
      status: "committed",
      overage: false,
      event: { amount: 1 },
      reservation: { committedAmount: 1, amount: 5 },
    });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 1, held: 4, remaining: 5 });

    const equal = await commit(subjectId, ids[1], { amount: 2 });
    expect(equal.body).toMatchObject({ overage: false, event: { amount: 2 } });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 3, held: 2, remaining: 5 });

    expect((await consume(subjectId, "fax", { amount: 5 })).status).toBe(200);
    const more = await commit(subjectId, ids[2], { amount: 4 });
    expect(more.status, JSON.stringify(more.body)).toBe(200);
    expect(more.body).toMatchObject({ status: "committed", overage: true, event: { amount: 4 }, reservation: { committedAmount: 4 } });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 12, held: 0, remaining: 0 });
    expect(await counterTotal(subjectId, "fax")).toBe(12);
  });

  it("commits more than held within the limit without overage", async () => {
    const subjectId = await subjectWith(FAX_10);
    const id = (await reserve(subjectId, "fax", { amount: 3 })).body.reservation.id;
    const more = await commit(subjectId, id, { amount: 5 });
    expect(more.body).toMatchObject({ overage: false, event: { amount: 5 } });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 5, held: 0, remaining: 5 });
  });

  it("commits 0 as a hold that came to nothing: committed, nothing recorded", async () => {
    const subjectId = await subjectWith(FAX_10);
    const id = (await reserve(subjectId, "fax", { amount: 3 })).body.reservation.id;
    const zero = await commit(subjectId, id, { amount: 0 });
    expect(zero.status, JSON.stringify(zero.body)).toBe(200);
    expect(zero.body).toMatchObject({ status: "committed", reservation: { status: "committed", committedAmount: 0 } });
    expect(zero.body.event).toBeNull();
    expect(zero.body.reservation.eventId).toBeNull();
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 0, remaining: 10 });
    expect((await commit(subjectId, id, { amount: 0 })).body).toMatchObject({ status: "already_committed", event: null });
    expect((await commit(subjectId, id, { amount: 1 })).status).toBe(409);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(0);
  });
});

describe("release and expiry", () => {
  it("releases a hold, idempotently; a released hold cannot be committed", async () => {
    const subjectId = await subjectWith(FAX_10);
    const id = (await reserve(subjectId, "fax", { amount: 4 })).body.reservation.id;
    const released = await release(subjectId, id);
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    expect(released.body).toMatchObject({ status: "released", reservation: { id, status: "released", committedAmount: null } });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 0, remaining: 10 });
    const again = await api("POST", `${path(subjectId, id)}/release`, { body: {} });
    expect(again.body).toMatchObject({ status: "already_released", reservation: released.body.reservation });
    const late = await commit(subjectId, id);
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: "RESERVATION_NOT_HELD", details: { status: "released" } });
    expect(await counterTotal(subjectId, "fax")).toBe(0);
    await flushLedger(subjectId);
    expect(await historyRows(subjectId)).toBe(0);
  });

  it("expires a hold at its ttl through the ledger's alarm, and notifies reservation.expired", async () => {
    const subjectId = await subjectWith(FAX_10);
    const held = await reserve(subjectId, "fax", { amount: 6, ttlSeconds: 1 });
    const { id, expiresAt, createdAt } = held.body.reservation;
    expect(Date.parse(expiresAt) - Date.parse(createdAt)).toBe(1000);
    await sleep(1100);
    await flushLedger(subjectId);
    await vi.waitFor(async () => expect((await api("GET", path(subjectId, id))).body.reservation.status).toBe("expired"), {
      timeout: 5000,
      interval: 100,
    });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 0, remaining: 10 });
    for (const res of [await commit(subjectId, id), await release(subjectId, id)]) {
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: "RESERVATION_NOT_HELD", details: { status: "expired" } });
    }
    const expired = (await notificationsOf(subjectId)).filter((n) => n.type === "reservation.expired");
    expect(expired).toHaveLength(1);
    expect(expired[0]!.payload).toMatchObject({ reservationId: id, meter: "fax" });
    expect(await counterTotal(subjectId, "fax")).toBe(0);
  });

  it("answers 404 for reservations it does not have, prototype names included", async () => {
    const subjectId = await subjectWith(FAX_10);
    await reserve(subjectId, "fax", { amount: 1 });
    for (const id of ["rsv_nope", "__proto__", "constructor", "toString", "hasOwnProperty", "%ED%A0%80"]) {
      for (const res of [await api("GET", path(subjectId, id)), await commit(subjectId, id), await release(subjectId, id)]) {
        expect(res.status, `${id}: ${JSON.stringify(res.body)}`).toBe(404);
        expect(res.body.error.code).toBe("NOT_FOUND");
      }
    }
    // Another subject's reservation is not this subject's.
    const other = await subjectWith(FAX_10);
    const theirs = (await reserve(other, "fax", { amount: 1 })).body.reservation.id;
    expect((await commit(subjectId, theirs)).status).toBe(404);
    expect((await api("GET", path(subjectId, theirs))).status).toBe(404);
    expect(await rowOf(other, "fax")).toMatchObject({ held: 1 });
  });
});

describe("reserve", () => {
  it("answers a replayed key with the same hold, counted once; another body under the key is 409", async () => {
    const subjectId = await subjectWith(FAX_10);
    const body = { amount: 2, idempotencyKey: "fax-77", metadata: { page: "cover" } };
    const first = await reserve(subjectId, "fax", body);
    const second = await reserve(subjectId, "fax", body);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: "duplicate", held: 2, remaining: 8 });
    expect(second.body.reservation).toEqual(first.body.reservation);
    expect(first.body.reservation.idempotencyKey).toBe("fax-77");
    // The default ttl is what an explicit 900 says.
    expect((await reserve(subjectId, "fax", { ...body, ttlSeconds: 900 })).body.status).toBe("duplicate");
    for (const changed of [{ amount: 3 }, { ttlSeconds: 60 }, { metadata: {} }, { dimensions: { schoolId: "S1" } }]) {
      const res = await reserve(subjectId, "fax", { ...body, ...changed });
      expect(res.status, JSON.stringify(changed)).toBe(409);
      expect(res.body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    }
    const header = await reserve(subjectId, "fax", { amount: 1 }, { "idempotency-key": "hdr-1" });
    const headerAgain = await reserve(subjectId, "fax", { amount: 1 }, { "idempotency-key": "hdr-1" });
    expect(headerAgain.body).toMatchObject({
      status: "duplicate",
      reservation: { id: header.body.reservation.id, idempotencyKey: "hdr-1" },
    });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ held: 3, remaining: 7 });
  });

  it("holds exactly the hard limit under 100 concurrent reserves: 10 held, 90 × 402", async () => {
    const subjectId = await subjectWith(FAX_10);
    const responses = await Promise.all(Array.from({ length: 100 }, () => reserve(subjectId, "fax", { amount: 1 })));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    const denied = responses.filter((r) => r.status === 402);
    expect(denied).toHaveLength(90);
    expect(denied[0]!.body.error).toMatchObject({
      code: "LIMIT_EXCEEDED",
      details: { allowed: false, used: 0, held: 10, limit: 10, remaining: 0 },
    });
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 10, remaining: 0 });
    const listed = await api("GET", `${path(subjectId)}?status=held&limit=1000`);
    expect(listed.body.data).toHaveLength(10);
  });

  it("never lets holds and consumes together pass a hard limit, whatever the mix", async () => {
    const subjectId = await subjectWith({ fax: { limit: 20, enforcement: "hard" } });
    const calls = Array.from({ length: 120 }, (_, i) =>
      i % 2 === 0 ? reserve(subjectId, "fax", { amount: 1 + (i % 3) }) : consume(subjectId, "fax", { amount: 1 + (i % 3) }),
    );
    const responses = await Promise.all(calls);
    expect(responses.every((r) => r.status === 200 || r.status === 402)).toBe(true);
    const row = await rowOf(subjectId, "fax");
    expect(row.used + row.held).toBeLessThanOrEqual(20);
    const heldIds = responses.filter((r) => r.status === 200 && r.body.reservation).map((r) => r.body.reservation.id);
    const consumed = responses.filter((r) => r.status === 200 && r.body.event).reduce((sum, r) => sum + r.body.event.amount, 0);
    expect(row.used).toBe(consumed);
    // Committing every hold as held keeps within the limit; the ledger's total is what was admitted.
    await Promise.all(heldIds.map((id) => commit(subjectId, id)));
    const after = await rowOf(subjectId, "fax");
    expect(after).toMatchObject({ used: row.used + row.held, held: 0 });
    expect(after.used).toBeLessThanOrEqual(20);
    expect(await counterTotal(subjectId, "fax")).toBe(after.used);
  });

  it("is allowed past a soft limit and without a limit", async () => {
    const subjectId = await subjectWith({ fax: { limit: 1, enforcement: "soft" } });
    expect((await reserve(subjectId, "fax", { amount: 5 })).body).toMatchObject({
      allowed: true,
      used: 0,
      held: 5,
      limit: 1,
      remaining: 0,
    });
    const free = uniqueSubject("free");
    expect((await reserve(free, "api_call", { amount: 50 })).body).toMatchObject({ allowed: true, held: 50, limit: null, remaining: null });
  });

  it("needs a defined meter and a positive amount, a ttl of 1–86400 s and nothing else", async () => {
    const subjectId = await subjectWith(FAX_10);
    const unknown = await reserve(subjectId, "no_such_meter", { amount: 1 });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe("UNKNOWN_METER");
    const bad: [unknown, string][] = [
      [{ amount: 0 }, "amount"],
      [{ amount: -1 }, "amount"],
      [{ amount: 1e12 }, "amount"],
      [{ amount: 0.00001 }, "amount"],
      [{ amount: "3" }, "amount"],
      [{}, "amount"],
      [{ amount: 1, ttlSeconds: 0 }, "ttlSeconds"],
      [{ amount: 1, ttlSeconds: 86_401 }, "ttlSeconds"],
      [{ amount: 1, ttlSeconds: 1.5 }, "ttlSeconds"],
      [{ amount: 1, ttlSeconds: -900 }, "ttlSeconds"],
      [{ amount: 1, ttlSeconds: "900" }, "ttlSeconds"],
      [{ amount: 1, ttlSeconds: 1e300 }, "ttlSeconds"],
      [{ amount: 1, unit: "page" }, "unit"],
      [{ amount: 1, subjectId }, "subjectId"],
      [{ amount: 1, idempotencyKey: "" }, "idempotencyKey"],
      [{ amount: 1, idempotencyKey: "k\ud800" }, "idempotencyKey"],
      [{ amount: 1, metadata: { note: "\udfff" } }, "metadata.note"],
      [{ amount: 1, dimensions: { schoolId: "\ud800" } }, "dimensions.schoolId"],
      [{ amount: 1, dimensions: { "bad name": "x" } }, "dimensions.bad name"],
      [{ amount: 1, metadata: "text" }, "metadata"],
    ];
    for (const [body, issue] of bad) {
      const res = await reserve(subjectId, "fax", body);
      expect(res.status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(issue);
    }
    expect((await reserve(subjectId, "fax", { amount: 1 }, { "content-type": "text/plain" })).status).toBe(415);
    expect((await api("POST", `/v1/subjects/${subjectId}/entitlements/fax/reserve`, { rawBody: "{" })).status).toBe(400);
    expect(await rowOf(subjectId, "fax")).toMatchObject({ held: 0 });
  });

  it("refuses a hostile commit body, and commit amounts outside the amount rules", async () => {
    const subjectId = await subjectWith(FAX_10);
    const id = (await reserve(subjectId, "fax", { amount: 2 })).body.reservation.id;
    for (const body of [{ amount: -1 }, { amount: 1e12 }, { amount: 0.12345 }, { amount: "2" }, { amount: 2, extra: 1 }, []]) {
      const res = await commit(subjectId, id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
    expect((await api("POST", `${path(subjectId, id)}/release`, { body: { now: true } })).status).toBe(400);
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 2 });
  });

  it("answers 503 LEDGER_UNAVAILABLE when the ledger fails, and holds nothing", async () => {
    const subjectId = await subjectWith(FAX_10);
    const id = (await reserve(subjectId, "fax", { amount: 2 })).body.reservation.id;
    const repair = await breakLedger(subjectId);
    for (const res of [await reserve(subjectId, "fax", { amount: 1 }), await commit(subjectId, id)]) {
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.error.code).toBe("LEDGER_UNAVAILABLE");
    }
    await repair();
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 2 });
  });
});

describe("GET reservations", () => {
  it("lists newest first, filters by status and pages with its cursors", async () => {
    const subjectId = await subjectWith(FAX_10);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await reserve(subjectId, "fax", { amount: 1 })).body.reservation.id);
    await commit(subjectId, ids[1]!);
    await release(subjectId, ids[3]!);
    const all = await api("GET", path(subjectId));
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    expect(all.body.data.map((r: { id: string }) => r.id)).toEqual([...ids].reverse());
    expect(all.body.nextCursor).toBeNull();
    const held = await api("GET", `${path(subjectId)}?status=held`);
    expect(held.body.data.map((r: { id: string }) => r.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect((await api("GET", `${path(subjectId)}?status=committed`)).body.data.map((r: { id: string }) => r.id)).toEqual([ids[1]]);
    expect((await api("GET", `${path(subjectId)}?status=released`)).body.data.map((r: { id: string }) => r.id)).toEqual([ids[3]]);
    expect((await api("GET", `${path(subjectId)}?status=expired`)).body.data).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { id: string }[]; nextCursor: string | null } } = await api(
        "GET",
        `${path(subjectId)}?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.body.data.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor && seen.length < 20);
    expect(seen).toEqual([...ids].reverse());
  });

  it("refuses bad filters, limits and cursors, and a cursor of another list", async () => {
    const subjectId = await subjectWith(FAX_10);
    for (const query of [
      "status=open",
      "status=HELD",
      "limit=0",
      "limit=1001",
      "limit=1.5",
      "cursor=garbage!!",
      "subjectID=x",
      "meter=fax",
    ]) {
      const res = await api("GET", `${path(subjectId)}?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe("VALIDATION_FAILED");
    }
    const deadLetters = await api("GET", "/v1/dead-letters?limit=1");
    if (deadLetters.body.nextCursor)
      expect((await api("GET", `${path(subjectId)}?cursor=${deadLetters.body.nextCursor}`)).status).toBe(400);
  });

  it("lets a user token read its own reservations only, and write none", async () => {
    const subjectId = await subjectWith(FAX_10);
    const id = (await reserve(subjectId, "fax", { amount: 1 })).body.reservation.id;
    const mine = await userToken(subjectId);
    expect((await api("GET", path(subjectId), { token: mine })).body.data).toHaveLength(1);
    expect((await api("GET", path(subjectId, id), { token: mine })).body.reservation.id).toBe(id);
    const intruder = await userToken("intruder");
    for (const p of [path(subjectId), path(subjectId, id), path(subjectId, "rsv_nope")]) {
      const res = await api("GET", p, { token: intruder });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    for (const [p, body] of [
      [`/v1/subjects/${subjectId}/entitlements/fax/reserve`, { amount: 1 }],
      [`${path(subjectId, id)}/commit`, {}],
      [`${path(subjectId, id)}/release`, {}],
    ] as const) {
      expect((await api("POST", p, { body, token: mine })).status).toBe(403);
      expect((await api("POST", p, { body, token: null })).status).toBe(401);
    }
    expect(await rowOf(subjectId, "fax")).toMatchObject({ used: 0, held: 1 });
  });
});

describe("names like Object.prototype members", () => {
  it("are subjects and meters like any other for holds and grants", async () => {
    for (const meter of ["constructor", "toString"]) {
      expect([200, 201]).toContain((await api("PUT", `/v1/meters/${meter}`, { body: { unit: "unit" } })).status);
    }
    for (const subjectId of ["__proto__", "constructor", "hasOwnProperty"]) {
      const held = await reserve(subjectId, "constructor", {
        amount: 2,
        idempotencyKey: "__proto__",
        metadata: JSON.parse('{"__proto__":1}'),
      });
      expect(held.status, JSON.stringify(held.body)).toBe(200);
      expect(held.body.reservation).toMatchObject({ subjectId, meter: "constructor", idempotencyKey: "__proto__" });
      expect(Object.keys(held.body.reservation.metadata)).toEqual(["__proto__"]);
      const committed = await commit(subjectId, held.body.reservation.id);
      expect(committed.status, JSON.stringify(committed.body)).toBe(200);
      const given = await api("POST", `/v1/subjects/${subjectId}/grants`, { body: { meter: "toString", amount: 1 } });
      expect(given.status, JSON.stringify(given.body)).toBe(201);
      const grants = await api("GET", `/v1/subjects/${subjectId}/grants?meter=toString`);
      expect(grants.body.data.map((g: { id: string }) => g.id)).toContain(given.body.grant.id);
      const listed = await api("GET", path(subjectId));
      expect(listed.body.data.map((r: { id: string }) => r.id)).toContain(held.body.reservation.id);
    }
  });
});

describe("decisions explain holds and grants", () => {
  it("check, consume and a consume's 402 show held and granted beside used, so remaining adds up", async () => {
    const subjectId = await subjectWith({ fax: { limit: 5, enforcement: "hard" } });
    expect((await reserve(subjectId, "fax", { amount: 4 })).status).toBe(200);
    const granted = await api("POST", `/v1/subjects/${subjectId}/grants`, { body: { meter: "fax", amount: 2 } });
    expect(granted.status).toBe(201);

    const check = await api("POST", `/v1/subjects/${subjectId}/entitlements/fax/check`, { body: { amount: 3 } });
    expect(check.body).toEqual({ allowed: true, used: 0, held: 4, granted: 2, limit: 5, remaining: 3, overage: false });
    const denied = await consume(subjectId, "fax", { amount: 4 });
    expect(denied.status).toBe(402);
    expect(denied.body.error.details).toEqual({ allowed: false, used: 0, held: 4, granted: 2, limit: 5, remaining: 3, overage: true });
    const allowed = await consume(subjectId, "fax", { amount: 3 });
    expect(allowed.body).toMatchObject({ allowed: true, used: 3, held: 4, granted: 2, limit: 5, remaining: 0 });
  });
});
