import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_GRANT_PRIORITY, effectiveEntitlements, type EntitlementInput } from "../../src/domain/entitlements";
import type { GrantInput, LedgerEventInput, ReservationInput } from "../../src/ledger/contract";
import { createGrant, voidGrant } from "../../src/ledger/grant-operations";
import { commit, expireDue, release, reserve } from "../../src/ledger/holds";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { uniqueSubject } from "../helpers/api";

const NOW = Date.UTC(2026, 5, 10, 12);
const HOUR = 3_600_000;
const E4 = 10_000;

/** A store over a real Durable Object's SQLite, configured with `plan` for meter `fax`. */
async function withStore<T>(plan: Record<string, Partial<EntitlementInput>>, fn: (store: LedgerStore, subjectId: string) => T): Promise<T> {
  const subjectId = uniqueSubject("credits");
  return runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) =>
    state.storage.transactionSync(() => {
      const store = new LedgerStore(state.storage.sql);
      store.migrate();
      store.claimSubject(subjectId);
      const entitlements = effectiveEntitlements(plan as Record<string, EntitlementInput>, {});
      store.setConfiguration({ subject: null, plan: null }, { planId: null, billingAnchorDay: null, entitlements });
      return fn(store, subjectId);
    }),
  );
}

let n = 0;
function usage(amount: number, at = NOW, meter = "fax"): LedgerEventInput {
  n += 1;
  return {
    idempotencyKey: `k${n}`,
    fingerprint: `f${n}`,
    kind: "counter",
    operation: "add",
    subjectId: "ignored",
    meter,
    unit: "page",
    amountE4: amount * E4,
    occurredAt: at,
    dimensions: {},
    metadata: {},
    source: "test",
  };
}

function hold(amount: number, ttlMs = HOUR, key: string | null = null): ReservationInput {
  return {
    meter: "fax",
    kind: "counter",
    unit: "page",
    amountE4: amount * E4,
    ttlMs,
    idempotencyKey: key,
    fingerprint: `hold:${amount}:${ttlMs}`,
    dimensions: { faxId: "f1" },
    metadata: { note: "x" },
  };
}

function credit(amount: number, over: Partial<GrantInput> = {}): GrantInput {
  return {
    meter: "fax",
    amountE4: amount * E4,
    priority: DEFAULT_GRANT_PRIORITY,
    effectiveAt: NOW - HOUR,
    expiresAt: null,
    idempotencyKey: null,
    fingerprint: `grant:${amount}:${JSON.stringify(over)}`,
    metadata: {},
    ...over,
  };
}

const consume = (store: LedgerStore, subjectId: string, amount: number, at = NOW) =>
  store.applyAll(subjectId, [{ ...usage(amount, at), mode: "consume" }], at)[0]!;
const row = (store: LedgerStore) => {
  const s = store.snapshot("fax", "counter", NOW);
  return {
    used: s.usedE4 / E4,
    held: s.heldE4 / E4,
    granted: s.grantedE4 / E4,
    remaining: s.remainingE4 === null ? null : s.remainingE4 / E4,
  };
};
const notifications = (store: LedgerStore, type: string) =>
  store.outbox
    .peek(10_000, 10_000_000)
    .entries.filter((e) => e.kind === "notification")
    .map((e) => JSON.parse(e.body) as { type: string; payload: Record<string, unknown> })
    .filter((x) => x.type === type);

describe("holds", () => {
  it("set aside what they hold: consumes and other holds cannot take it", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      const first = reserve(store, subjectId, hold(6), NOW);
      const tooBig = reserve(store, subjectId, hold(5), NOW);
      const consumeDenied = consume(store, subjectId, 5);
      const consumeOk = consume(store, subjectId, 4);
      return {
        first: first.status,
        tooBig: tooBig.status,
        consumeDenied: consumeDenied.status,
        consumeOk: consumeOk.status,
        row: row(store),
      };
    });
    expect(result).toEqual({
      first: "created",
      tooBig: "denied",
      consumeDenied: "denied",
      consumeOk: "created",
      row: { used: 4, held: 6, granted: 0, remaining: 0 },
    });
  });

  it("commit records the held amount by default, less frees the rest, more is recorded as overage", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      const a = reserve(store, subjectId, hold(3), NOW);
      const b = reserve(store, subjectId, hold(3), NOW);
      const c = reserve(store, subjectId, hold(3), NOW);
      if (a.status !== "created" || b.status !== "created" || c.status !== "created") throw new Error("not held");
      const byDefault = commit(store, subjectId, a.reservation.id, { amountE4: null, occurredAt: null, source: "reservation" }, NOW);
      const less = commit(store, subjectId, b.reservation.id, { amountE4: 1 * E4, occurredAt: null, source: "reservation" }, NOW);
      const more = commit(store, subjectId, c.reservation.id, { amountE4: 9 * E4, occurredAt: null, source: "reservation" }, NOW);
      const pick = (o: typeof byDefault) =>
        o.status === "committed"
          ? { amount: o.event?.amountE4, overage: o.decision.overage, committed: o.reservation.committedAmountE4 }
          : o.status;
      return { byDefault: pick(byDefault), less: pick(less), more: pick(more), row: row(store) };
    });
    expect(result).toEqual({
      byDefault: { amount: 3 * E4, overage: false, committed: 3 * E4 },
      less: { amount: 1 * E4, overage: false, committed: 1 * E4 },
      more: { amount: 9 * E4, overage: true, committed: 9 * E4 },
      row: { used: 13, held: 0, granted: 0, remaining: 0 },
    });
  });

  it("commit and release are terminal and idempotent", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      const held = reserve(store, subjectId, hold(2), NOW);
      const other = reserve(store, subjectId, hold(2), NOW);
      if (held.status !== "created" || other.status !== "created") throw new Error("not held");
      const id = held.reservation.id;
      const input = { amountE4: 2 * E4, occurredAt: null, source: "reservation" };
      const first = commit(store, subjectId, id, input, NOW);
      const again = commit(store, subjectId, id, input, NOW + 1);
      const defaultAgain = commit(store, subjectId, id, { ...input, amountE4: null }, NOW + 1);
      const otherAmount = commit(store, subjectId, id, { ...input, amountE4: 1 * E4 }, NOW + 1);
      const releaseCommitted = release(store, subjectId, id, NOW + 1);
      const released = release(store, subjectId, other.reservation.id, NOW);
      const releasedAgain = release(store, subjectId, other.reservation.id, NOW + 1);
      const commitReleased = commit(store, subjectId, other.reservation.id, input, NOW + 1);
      const unknown = commit(store, subjectId, "rsv_nope", input, NOW);
      const eventOf = (o: typeof first) => (o.status === "committed" || o.status === "already_committed" ? o.event?.id : null);
      return {
        statuses: [first, again, defaultAgain, otherAmount, releaseCommitted, released, releasedAgain, commitReleased, unknown].map(
          (o) => o.status,
        ),
        sameEvent: eventOf(first) === eventOf(again) && eventOf(again) === eventOf(defaultAgain),
        row: row(store),
      };
    });
    expect(result).toEqual({
      statuses: [
        "committed",
        "already_committed",
        "already_committed",
        "conflict",
        "not_held",
        "released",
        "already_released",
        "not_held",
        "not_found",
      ],
      sameEvent: true,
      row: { used: 2, held: 0, granted: 0, remaining: 8 },
    });
  });

  it("replays a reserve under the same key and refuses another under it", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      const first = reserve(store, subjectId, hold(4, HOUR, "h1"), NOW);
      const again = reserve(store, subjectId, hold(4, HOUR, "h1"), NOW + 5);
      const other = reserve(store, subjectId, hold(5, HOUR, "h1"), NOW + 5);
      return {
        statuses: [first.status, again.status, other.status],
        same: "reservation" in first && "reservation" in again && first.reservation.id === again.reservation.id,
        row: row(store),
      };
    });
    expect(result).toEqual({
      statuses: ["created", "duplicate", "conflict"],
      same: true,
      row: { used: 0, held: 4, granted: 0, remaining: 6 },
    });
  });

  it("stops counting at its time, before the alarm; the alarm marks it expired and notifies once", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      const held = reserve(store, subjectId, hold(7, HOUR), NOW);
      if (held.status !== "created") throw new Error("not held");
      const heldBefore = store.reservations.heldE4("fax", NOW + HOUR - 1) / E4;
      const heldAt = store.reservations.heldE4("fax", NOW + HOUR) / E4;
      const listedAt = store.reservations.list({ status: "expired", before: null, limit: 10 }, NOW + HOUR).map((r) => r.status);
      const expired = [expireDue(store, subjectId, NOW + HOUR + 5), expireDue(store, subjectId, NOW + HOUR + 6)];
      const late = commit(store, subjectId, held.reservation.id, { amountE4: null, occurredAt: null, source: "r" }, NOW + HOUR + 7);
      return {
        heldBefore,
        heldAt,
        listedAt,
        expired,
        late: late.status === "not_held" ? [late.reservation.status, late.reservation.resolvedAt] : late.status,
        notified: notifications(store, "reservation.expired").map((x) => x.payload.reservationId === held.reservation.id),
      };
    });
    expect(result).toEqual({
      heldBefore: 7,
      heldAt: 0,
      listedAt: ["expired"],
      expired: [1, 0],
      late: ["expired", NOW + HOUR],
      notified: [true],
    });
  });

  it("commit of 0 records nothing", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      const held = reserve(store, subjectId, hold(3), NOW);
      if (held.status !== "created") throw new Error("not held");
      const zero = commit(store, subjectId, held.reservation.id, { amountE4: 0, occurredAt: null, source: "r" }, NOW);
      return { status: zero.status, event: zero.status === "committed" ? zero.event : "?", row: row(store) };
    });
    expect(result).toEqual({ status: "committed", event: null, row: { used: 0, held: 0, granted: 0, remaining: 10 } });
  });
});

describe("grants", () => {
  it("are drawn after the allowance, by priority, then earliest expiry (none last), and every draw is on the event", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      const late = createGrant(store, subjectId, credit(5, { expiresAt: NOW + 48 * HOUR }), NOW);
      const never = createGrant(store, subjectId, credit(5), NOW);
      const soon = createGrant(store, subjectId, credit(2, { expiresAt: NOW + 2 * HOUR }), NOW);
      const first = createGrant(store, subjectId, credit(1, { priority: 5 }), NOW);
      const within = consume(store, subjectId, 10);
      const past = consume(store, subjectId, 6);
      const ids = { late: late.grant.id, never: never.grant.id, soon: soon.grant.id, first: first.grant.id };
      const name = (id: string) => Object.entries(ids).find(([, v]) => v === id)![0];
      const draws = (o: typeof past) =>
        "event" in o ? (o.event.grantDraws ?? []).map((d) => [name(d.grantId), d.amountE4 / E4]) : o.status;
      return {
        within: draws(within),
        past: draws(past),
        remaining: store.grants.list({ meter: null, includeInactive: true }, NOW).map((g) => [name(g.id), g.remainingE4 / E4]),
        row: row(store),
      };
    });
    expect(result).toEqual({
      within: [],
      past: [
        ["first", 1],
        ["soon", 2],
        ["late", 3],
      ],
      remaining: [
        ["first", 0],
        ["soon", 0],
        ["late", 2],
        ["never", 5],
      ],
      row: { used: 16, held: 0, granted: 13, remaining: 7 },
    });
  });

  it("let a hard limit go as far as allowance plus balance, and add nothing once expired or before they start", async () => {
    const result = await withStore({ fax: { limit: 2 } }, (store, subjectId) => {
      createGrant(store, subjectId, credit(3), NOW);
      createGrant(store, subjectId, credit(50, { expiresAt: NOW - 1, effectiveAt: NOW - 2 * HOUR }), NOW);
      createGrant(store, subjectId, credit(50, { effectiveAt: NOW + HOUR }), NOW);
      const fits = consume(store, subjectId, 5).status;
      const over = consume(store, subjectId, 1).status;
      return { fits, over, row: row(store) };
    });
    expect(result).toEqual({ fits: "created", over: "denied", row: { used: 5, held: 0, granted: 3, remaining: 0 } });
  });

  it("give a voided event's draws back; a voided grant gives nothing more", async () => {
    const result = await withStore({ fax: { limit: 1 } }, (store, subjectId) => {
      const g = createGrant(store, subjectId, credit(4), NOW);
      const used = consume(store, subjectId, 3);
      if (used.status !== "created") throw new Error("denied");
      const drawn = store.grants.find(g.grant.id)!.remainingE4 / E4;
      store.voidEvent(subjectId, { id: used.event.id, meter: "fax", kind: "counter", amountE4: 3 * E4, occurredAt: NOW }, null, NOW);
      const refunded = store.grants.find(g.grant.id)!.remainingE4 / E4;
      const voided = voidGrant(store, subjectId, g.grant.id, NOW);
      const again = voidGrant(store, subjectId, g.grant.id, NOW + 1);
      const denied = consume(store, subjectId, 2).status;
      return { drawn, refunded, voids: [voided.status, again.status], denied, row: row(store) };
    });
    expect(result).toEqual({
      drawn: 2,
      refunded: 4,
      voids: ["voided", "already_voided"],
      denied: "denied",
      row: { used: 0, held: 0, granted: 0, remaining: 1 },
    });
  });

  it("replay under their key, refuse another grant under it, and notify grant.depleted when used up", async () => {
    const result = await withStore({ fax: { limit: 0 } }, (store, subjectId) => {
      const a = createGrant(store, subjectId, credit(2, { idempotencyKey: "g1" }), NOW);
      const b = createGrant(store, subjectId, credit(2, { idempotencyKey: "g1" }), NOW);
      const c = createGrant(store, subjectId, credit(3, { idempotencyKey: "g1" }), NOW);
      consume(store, subjectId, 2);
      return {
        statuses: [a.status, b.status, c.status],
        same: a.grant.id === b.grant.id && b.grant.id === c.grant.id,
        depleted: notifications(store, "grant.depleted").map((x) => x.payload.grantId === a.grant.id),
      };
    });
    expect(result).toEqual({ statuses: ["created", "duplicate", "conflict"], same: true, depleted: [true] });
  });

  it("draw for plain records in a batch too, event by event", async () => {
    const result = await withStore({ fax: { limit: 3 } }, (store, subjectId) => {
      const g = createGrant(store, subjectId, credit(10), NOW);
      const outcomes = store.applyAll(subjectId, [usage(2), usage(2), usage(2)], NOW);
      const events = store.outbox
        .peek(100, 1_000_000)
        .entries.filter((e) => e.kind === "event")
        .map((e) => JSON.parse(e.body) as { grantDraws?: { amountE4: number }[] });
      return {
        draws: outcomes.map((o) => ("event" in o ? (o.event.grantDraws ?? []).map((d) => d.amountE4 / E4) : [])),
        outbox: events.map((e) => (e.grantDraws ?? []).map((d) => d.amountE4 / E4)),
        left: store.grants.find(g.grant.id)!.remainingE4 / E4,
      };
    });
    expect(result).toEqual({ draws: [[], [1], [2]], outbox: [[], [1], [2]], left: 7 });
  });
});

describe("credits at period close and balance.low", () => {
  const JUNE = Date.UTC(2026, 5, 1);
  const JULY = Date.UTC(2026, 6, 1);
  const AUGUST = Date.UTC(2026, 7, 1);

  it("roll unused allowance into a capped grant once, and give the plan's grant each period", async () => {
    const result = await withStore(
      { fax: { limit: 10, rollover: { maxAmount: 5, expiresAfterPeriods: 1 }, grantEachPeriod: { amount: 2, expiresAfterPeriods: 1 } } },
      (store, subjectId) => {
        store.givePeriodGrants(NOW);
        store.applyAll(subjectId, [usage(11)], NOW);
        store.closePeriods(subjectId, JULY + 1, {}, JULY + 1);
        store.closePeriods(subjectId, JULY + 2, {}, JULY + 2);
        return store.grants
          .list({ meter: null, includeInactive: true }, JULY + 2)
          .map((g) => ({ source: g.source, amount: g.amountE4 / E4, remaining: g.remainingE4 / E4, from: g.effectiveAt, to: g.expiresAt }));
      },
    );
    // June: 11 used of 10 + the plan's 2, so 1 drawn from June's plan grant: the allowance was used up (nothing rolls over).
    expect(result).toEqual([
      { source: "plan", amount: 2, remaining: 1, from: JUNE, to: JULY },
      { source: "plan", amount: 2, remaining: 2, from: JULY, to: AUGUST },
    ]);
  });

  it("rolls over what is left, capped by percent", async () => {
    const result = await withStore({ fax: { limit: 10, rollover: { maxPercent: 30, expiresAfterPeriods: 2 } } }, (store, subjectId) => {
      store.applyAll(subjectId, [usage(4)], NOW);
      store.closePeriods(subjectId, JULY + 1, {}, JULY + 1);
      store.closePeriods(subjectId, JULY + 1, {}, JULY + 2);
      return store.grants
        .list({ meter: null, includeInactive: true }, JULY + 2)
        .map((g) => [g.source, g.amountE4 / E4, g.effectiveAt, g.expiresAt]);
    });
    expect(result).toEqual([["rollover", 3, JULY, Date.UTC(2026, 8, 1)]]);
  });

  it("notifies balance.low once when remaining falls to a configured amount, and again after it rose above", async () => {
    const result = await withStore({ fax: { limit: 10, balanceThresholds: [3] } }, (store, subjectId) => {
      consume(store, subjectId, 6);
      reserve(store, subjectId, hold(1), NOW);
      const before = notifications(store, "balance.low").length;
      consume(store, subjectId, 1);
      consume(store, subjectId, 1);
      const once = notifications(store, "balance.low").length;
      createGrant(store, subjectId, credit(5), NOW);
      consume(store, subjectId, 4);
      return { before, once, twice: notifications(store, "balance.low").map((x) => x.payload.remaining) };
    });
    // The hold alone brings remaining to 3.
    expect(result).toEqual({ before: 1, once: 1, twice: [3, 2] });
  });
});

describe("holds and grants together", () => {
  it("a consume draws grants rather than the allowance a hold set aside, so the hold's commit fits after the grant expired", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      createGrant(store, subjectId, credit(5, { expiresAt: NOW + 15 * 60_000 }), NOW);
      const held = reserve(store, subjectId, hold(10), NOW);
      const consumed = consume(store, subjectId, 5);
      if (held.status !== "created" || consumed.status !== "created") throw new Error("refused");
      const later = NOW + 20 * 60_000;
      const committed = commit(store, subjectId, held.reservation.id, { amountE4: null, occurredAt: later, source: "r" }, later);
      return {
        consumeDraws: (consumed.event.grantDraws ?? []).map((d) => d.amountE4 / E4),
        overage: committed.status === "committed" ? committed.decision.overage : committed.status,
        row: (() => {
          const s = store.snapshot("fax", "counter", later);
          return { used: s.usedE4 / E4, held: s.heldE4 / E4, granted: s.grantedE4 / E4, remaining: s.remainingE4! / E4 };
        })(),
      };
    });
    expect(result).toEqual({ consumeDraws: [5], overage: false, row: { used: 15, held: 0, granted: 5, remaining: 0 } });
  });

  it("a hold past the allowance sets grant balance aside at once: the grant's expiry or void cannot leave its commit short", async () => {
    const result = await withStore({ fax: { limit: 10 } }, (store, subjectId) => {
      const g = createGrant(store, subjectId, credit(8, { expiresAt: NOW + 15 * 60_000 }), NOW);
      const held = reserve(store, subjectId, hold(15), NOW);
      if (held.status !== "created") throw new Error("refused");
      const setAside = store.grants.find(g.grant.id)!.remainingE4 / E4;
      const rowNow = row(store);
      const later = NOW + 20 * 60_000;
      const committed = commit(store, subjectId, held.reservation.id, { amountE4: 13 * E4, occurredAt: later, source: "r" }, later);
      if (committed.status !== "committed") throw new Error(committed.status);
      return {
        setAside,
        rowNow,
        overage: committed.decision.overage,
        draws: (committed.event?.grantDraws ?? []).map((d) => d.amountE4 / E4),
        left: store.grants.find(g.grant.id)!.remainingE4 / E4,
      };
    });
    expect(result).toEqual({
      setAside: 3,
      rowNow: { used: 0, held: 15, granted: 8, remaining: 3 },
      overage: false,
      draws: [3],
      left: 5,
    });
  });

  it("a released or expired hold gives the grant balance it set aside back", async () => {
    const result = await withStore({ fax: { limit: 2 } }, (store, subjectId) => {
      const g = createGrant(store, subjectId, credit(6), NOW);
      const a = reserve(store, subjectId, hold(5, HOUR), NOW);
      const b = reserve(store, subjectId, hold(3, 60_000), NOW);
      if (a.status !== "created" || b.status !== "created") throw new Error("refused");
      const setAside = store.grants.find(g.grant.id)!.remainingE4 / E4;
      release(store, subjectId, a.reservation.id, NOW + 1);
      const afterRelease = store.grants.find(g.grant.id)!.remainingE4 / E4;
      expireDue(store, subjectId, NOW + 60_000);
      return { setAside, afterRelease, afterExpiry: store.grants.find(g.grant.id)!.remainingE4 / E4 };
    });
    expect(result).toEqual({ setAside: 0, afterRelease: 3, afterExpiry: 6 });
  });
});
