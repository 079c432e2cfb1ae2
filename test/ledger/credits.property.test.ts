import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Entitlement } from "../../src/domain/entitlements";
import type { GrantDraw, StoredEvent } from "../../src/domain/stored-event";
import type { LedgerEventInput, RecordOutcome } from "../../src/ledger/contract";
import { createGrant, voidGrant } from "../../src/ledger/grant-operations";
import { commit, expireDue, release, reserve } from "../../src/ledger/holds";
import { LedgerStore } from "../../src/ledger/ledger-store";
import { uniqueSubject } from "../helpers/api";

/**
 * Holds and grants against a reference model (issue 14, acceptance): random mixes of record,
 * consume, batches of records, reserve (with replayed keys), commit (less, equal, more, 0, the
 * held amount), release, time passing (to the exact instant a hold or grant ends or starts, too)
 * with the alarm's expiry, grants (tied priorities and expiries, future starts), voided grants and
 * voided events, on one monthly counter whose limit is hard, soft or none. After every operation
 * the outcome, the entitlement row (used, held, granted, remaining), every grant's remaining and
 * each event's draws must equal the model's; and a hard limit is never overshot by an operation
 * that only consumes, reserves, commits at most what it held, releases, gives or takes back.
 *
 * The model below is written from the rules (DESIGN §9 and the comments of grants.ts / holds.ts),
 * not from the implementation: plain arrays, sums and one sort, in whole units.
 */

const E4 = 10_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Every instant stays inside June 2026: one monthly period, so the window is always the same. */
const START = Date.UTC(2026, 5, 10, 12);
const LAST = Date.UTC(2026, 5, 29);
const METER = "fax";

// ---- the reference model ----

type Draw = [grant: number, amount: number];
type HoldStatus = "held" | "committed" | "released" | "expired";

interface MEvent {
  amount: number;
  at: number;
  draws: Draw[];
  voided: boolean;
  fingerprint: string;
}

interface MHold {
  amount: number;
  expiresAt: number;
  /** As stored: a hold past its time stays `held` until something marks it expired. */
  status: HoldStatus;
  committedAmount: number | null;
  event: number | null;
  fingerprint: string;
  /** Grant balance set aside for what the hold needs past the free allowance; its commit draws it first. */
  locks: Draw[];
}

interface MGrant {
  amount: number;
  remaining: number;
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
  voided: boolean;
  fingerprint: string;
}

interface GrantSpec {
  amount: number;
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
}

/** What an operation answered, in the model's indices (events, holds, grants by creation order). */
type View = Record<string, unknown>;

const sumOf = (draws: Draw[]) => draws.reduce((t, [, a]) => t + a, 0);

class Model {
  now = START;
  readonly events: MEvent[] = [];
  readonly holds: MHold[] = [];
  readonly grants: MGrant[] = [];
  /** Idempotency keys of records and consumes → event; of reserves → hold; of grants → grant. */
  readonly eventKeys = new Map<string, number>();
  readonly holdKeys = new Map<string, number>();
  readonly grantKeys = new Map<string, number>();

  constructor(
    readonly limit: number | null,
    readonly hard: boolean,
  ) {}

  used(): number {
    return this.events.filter((e) => !e.voided).reduce((s, e) => s + e.amount, 0);
  }

  /** Holds still held and not past their time, whether or not anything marked them yet. */
  held(): number {
    return this.holds.filter((h) => h.status === "held" && h.expiresAt > this.now).reduce((s, h) => s + h.amount, 0);
  }

  /** What the window's (non-voided) events drew, from any grant, and what live holds set aside. */
  drawn(): number {
    const sum = (draws: Draw[]) => draws.reduce((t, [, a]) => t + a, 0);
    const events = this.events.filter((e) => !e.voided).reduce((s, e) => s + sum(e.draws), 0);
    return events + this.holds.filter((h) => h.status === "held").reduce((s, h) => s + sum(h.locks), 0);
  }

  /** The allowance not yet drawn by usage nor set aside by live holds. */
  private freeAllowance(): number {
    return Math.max(0, this.limit! - this.held() - (this.used() - this.drawn()));
  }

  /** Draws up to `amount` from the grants live now, in draw order. */
  private drawLive(amount: number): Draw[] {
    const draws: Draw[] = [];
    let left = amount;
    for (const i of this.drawOrder()) {
      if (left <= 0) break;
      const g = this.grants[i]!;
      if (!this.live(g, this.now)) continue;
      const take = Math.min(left, g.remaining);
      g.remaining -= take;
      left -= take;
      draws.push([i, take]);
    }
    return draws;
  }

  private giveBack(locks: Draw[]): void {
    for (const [g, a] of locks) this.grants[g]!.remaining += a;
  }

  /** Every hold past its time expires before anything is read or changed (the ledger settles first). */
  settle(): number {
    return this.expireDue();
  }

  live(g: MGrant, at: number): boolean {
    return !g.voided && g.effectiveAt <= at && (g.expiresAt === null || at < g.expiresAt) && g.remaining > 0;
  }

  granted(): number {
    return this.drawn() + this.grants.filter((g) => this.live(g, this.now)).reduce((s, g) => s + g.remaining, 0);
  }

  remaining(): number | null {
    return this.limit === null ? null : Math.max(0, this.limit - this.used() - this.held() + this.granted());
  }

  /** Whether `amount` more fits under the limit, holds and grants counted. */
  fits(amount: number): boolean {
    return this.limit === null || this.used() + this.held() + amount <= this.limit + this.granted();
  }

  /** All grants: priority, then earliest expiry (none last), then the first created. */
  drawOrder(): number[] {
    const nullLast = (g: MGrant) => (g.expiresAt === null ? 1 : 0);
    return this.grants
      .map((_, i) => i)
      .sort((i, j) => {
        const a = this.grants[i]!;
        const b = this.grants[j]!;
        return a.priority - b.priority || nullLast(a) - nullLast(b) || (a.expiresAt ?? 0) - (b.expiresAt ?? 0) || i - j;
      });
  }

  /**
   * Counts an event now: past the free allowance it draws first what its hold set aside
   * (`locks`), giving back what it does not need, then the grants live now, in draw order.
   */
  private add(amount: number, fingerprint: string, locks: Draw[] = []): number {
    const draws: Draw[] = [];
    if (this.limit === null) this.giveBack(locks);
    else {
      let excess = Math.max(0, amount - this.freeAllowance());
      const taken = new Map<number, number>();
      for (const [g, a] of locks) {
        const take = Math.min(excess, a);
        if (take > 0) taken.set(g, (taken.get(g) ?? 0) + take);
        this.grants[g]!.remaining += a - take;
        excess -= take;
      }
      for (const [g, a] of this.drawLive(excess)) taken.set(g, (taken.get(g) ?? 0) + a);
      draws.push(...taken.entries());
    }
    this.events.push({ amount, at: this.now, draws, voided: false, fingerprint });
    return this.events.length - 1;
  }

  eventView(i: number): View {
    return { event: i, draws: this.events[i]!.draws };
  }

  /** A record or a consume; a key seen before answers its event, a denied consume writes nothing (not even its key). */
  usage(amount: number, key: string | null, fingerprint: string, consume: boolean): View {
    const seen = key === null ? undefined : this.eventKeys.get(key);
    if (seen !== undefined) {
      return { status: this.events[seen]!.fingerprint === fingerprint ? "duplicate" : "conflict", ...this.eventView(seen) };
    }
    const fit = this.fits(amount);
    if (consume && !fit && this.hard) return { status: "denied" };
    const i = this.add(amount, fingerprint);
    if (key !== null) this.eventKeys.set(key, i);
    return consume ? { status: "created", ...this.eventView(i), overage: !fit } : { status: "created", ...this.eventView(i) };
  }

  private expireIfDue(h: MHold): void {
    if (h.status !== "held" || h.expiresAt > this.now) return;
    h.status = "expired";
    this.giveBack(h.locks);
    h.locks = [];
  }

  reserve(amount: number, ttl: number, key: string | null, fingerprint: string): View {
    const seen = key === null ? undefined : this.holdKeys.get(key);
    if (seen !== undefined) {
      const h = this.holds[seen]!;
      this.expireIfDue(h);
      return { status: h.fingerprint === fingerprint ? "duplicate" : "conflict", hold: seen, holdStatus: h.status };
    }
    if (!this.fits(amount) && this.hard) return { status: "denied" };
    const locks = this.limit === null ? [] : this.drawLive(amount - this.freeAllowance());
    this.holds.push({ amount, expiresAt: this.now + ttl, status: "held", committedAmount: null, event: null, fingerprint, locks });
    if (key !== null) this.holdKeys.set(key, this.holds.length - 1);
    return { status: "created", hold: this.holds.length - 1 };
  }

  /** `amount` null: the held amount. The hold ends first, then what is committed is recorded (0: nothing). */
  commit(i: number | null, amount: number | null): View {
    if (i === null) return { status: "not_found" };
    const h = this.holds[i]!;
    this.expireIfDue(h);
    const committing = amount ?? h.amount;
    if (h.status === "committed") {
      if (amount !== null && amount !== h.committedAmount) return { status: "conflict", holdStatus: h.status };
      return { status: "already_committed", holdStatus: h.status, commitEvent: h.event === null ? null : this.eventView(h.event) };
    }
    if (h.status !== "held") return { status: "not_held", holdStatus: h.status };
    h.status = "committed";
    h.committedAmount = committing;
    // Decided with what the hold set aside still counted (it is the commit's to draw).
    const locks = h.locks;
    const overage = this.limit !== null && this.used() + this.held() + committing > this.limit + this.granted() + sumOf(locks);
    h.locks = [];
    if (committing > 0) h.event = this.add(committing, "commit", locks);
    else this.giveBack(locks);
    return { status: "committed", holdStatus: h.status, commitEvent: h.event === null ? null : this.eventView(h.event), overage };
  }

  release(i: number | null): View {
    if (i === null) return { status: "not_found" };
    const h = this.holds[i]!;
    this.expireIfDue(h);
    if (h.status === "released") return { status: "already_released", holdStatus: h.status };
    if (h.status !== "held") return { status: "not_held", holdStatus: h.status };
    h.status = "released";
    this.giveBack(h.locks);
    h.locks = [];
    return { status: "released", holdStatus: h.status };
  }

  /** The alarm: marks every hold past its time. */
  expireDue(): number {
    const due = this.holds.filter((h) => h.status === "held" && h.expiresAt <= this.now);
    for (const h of due) this.expireIfDue(h);
    return due.length;
  }

  grant(spec: GrantSpec, key: string | null, fingerprint: string): View {
    const seen = key === null ? undefined : this.grantKeys.get(key);
    if (seen !== undefined) return { status: this.grants[seen]!.fingerprint === fingerprint ? "duplicate" : "conflict", grant: seen };
    this.grants.push({ ...spec, remaining: spec.amount, voided: false, fingerprint });
    if (key !== null) this.grantKeys.set(key, this.grants.length - 1);
    return { status: "created", grant: this.grants.length - 1 };
  }

  voidGrant(i: number): View {
    const g = this.grants[i]!;
    if (g.voided) return { status: "already_voided" };
    g.voided = true;
    return { status: "voided" };
  }

  /** Takes the event out of used and gives exactly its draws back, to whatever grant they came from. */
  voidEvent(i: number): View {
    const e = this.events[i]!;
    if (e.voided) return { status: "already_voided" };
    e.voided = true;
    for (const [g, amount] of e.draws) this.grants[g]!.remaining += amount;
    return { status: "voided" };
  }

  /** The next instant something starts or ends (a hold's or grant's expiry, a grant's start), if any. */
  nextBoundary(): number | null {
    const times = [
      ...this.holds.filter((h) => h.status === "held").map((h) => h.expiresAt),
      ...this.grants.flatMap((g) => (g.expiresAt === null ? [g.effectiveAt] : [g.effectiveAt, g.expiresAt])),
    ].filter((t) => t > this.now);
    return times.length === 0 ? null : Math.min(...times);
  }
}

// ---- the operations ----

/** No key, a new one, or one used before: replayed as it was, or with another body (`tweak`). */
const keyArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ k: "none" as const }) },
  { weight: 2, arbitrary: fc.constant({ k: "fresh" as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("replay" as const), pick: fc.nat(), tweak: fc.boolean() }) },
);
type KeyChoice = typeof keyArb extends fc.Arbitrary<infer T> ? T : never;

const amountArb = fc.integer({ min: 1, max: 12 });
const opArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("record" as const), amount: amountArb, key: keyArb }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("consume" as const), amount: amountArb, key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("batch" as const),
      items: fc.array(
        fc.record({
          amount: amountArb,
          /** Mostly plain records (the set-based path); sometimes a consume between them. */
          consume: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
          /** The previous item's key and body again: a replay inside the run. */
          again: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
        }),
        { minLength: 2, maxLength: 6 },
      ),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("reserve" as const),
      amount: amountArb,
      ttlMinutes: fc.integer({ min: 1, max: 120 }),
      key: keyArb,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("commit" as const),
      pick: fc.nat(),
      how: fc.constantFrom("default" as const, "equal" as const, "less" as const, "more" as const, "zero" as const),
      delta: fc.integer({ min: 1, max: 5 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("release" as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      /** null: to the next instant a hold or grant ends or starts, exactly. */
      ms: fc.option(fc.integer({ min: 1, max: 3 * HOUR }), { nil: null, freq: 3 }),
      expire: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("grant" as const),
      amount: fc.integer({ min: 1, max: 20 }),
      /** Few values, so that ties are common. */
      priority: fc.constantFrom(0, 5, 5, 100),
      starts: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 3 * HOUR }).map((d) => -d),
        fc.integer({ min: 1, max: 3 * HOUR }),
      ),
      /** Whole quarter hours after it starts (or now), so that expiries tie too; null never expires. */
      lastsQuarters: fc.option(fc.integer({ min: 1, max: 16 }), { nil: null, freq: 3 }),
      key: keyArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("voidGrant" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("voidEvent" as const), pick: fc.nat() }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

const caseArb = fc.record({
  limit: fc.option(fc.integer({ min: 0, max: 50 }), { nil: null, freq: 6 }),
  hard: fc.constantFrom(true, true, false),
  ops: fc.array(opArb, { minLength: 30, maxLength: 60 }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** Ops that can only keep `used + held ≤ limit + granted` true: they take nothing past what fits. */
function keepsFit(op: Op): boolean {
  switch (op.op) {
    case "consume":
    case "reserve":
    case "release":
    case "grant":
    case "voidEvent":
      return true;
    case "batch":
      return op.items.every((i) => i.consume);
    case "commit":
      return op.how !== "more";
    default:
      // Records and commits past their hold record what happened; a grant that ends or is voided takes its balance away.
      return false;
  }
}

/** What an operation exercised, as the model answered it: the statuses, draws, refunds and expiries seen. */
function coverage(op: Op, v: View, m: Model): string[] {
  const labels = [`${op.op}:${String(v.status)}`];
  if (v.status === "not_held") labels.push(`${op.op}:not_held:${String(v.holdStatus)}`);
  const created = [v, ...((v.outcomes as View[] | undefined) ?? [])].filter((x) => x.status === "created");
  if (v.status === "committed" && v.commitEvent) created.push(v.commitEvent as View);
  for (const e of created) {
    const draws = (e.draws as Draw[] | undefined) ?? [];
    if (draws.length > 0) labels.push(`${op.op}:draws`);
    if (draws.length > 1) labels.push(`${op.op}:draws-several`);
  }
  if (v.overage === true) labels.push(`${op.op}:overage`);
  if (op.op === "reserve" && v.status === "created" && m.holds[v.hold as number]!.locks.length > 0)
    labels.push("reserve:sets-grants-aside");
  if (op.op === "advance" && typeof v.expired === "number" && v.expired > 0) labels.push("advance:expired");
  if (op.op === "voidEvent" && v.status === "voided") {
    const e = m.events[op.pick % m.events.length]!;
    if (e.draws.length > 0) labels.push("voidEvent:refund");
    if (e.draws.some(([g]) => !m.live(m.grants[g]!, m.now))) labels.push("voidEvent:refund-to-unusable");
  }
  return labels;
}

const REQUIRED = [
  ...["created", "denied", "duplicate", "conflict", "draws", "draws-several", "overage"].map((s) => `consume:${s}`),
  ...["created", "duplicate", "conflict", "draws", "draws-several"].map((s) => `record:${s}`),
  ...["draws", "draws-several"].map((s) => `batch:${s}`),
  ...["created", "denied", "duplicate", "conflict", "sets-grants-aside"].map((s) => `reserve:${s}`),
  ...["committed", "already_committed", "conflict", "not_held:released", "not_held:expired", "not_found", "draws", "overage"].map(
    (s) => `commit:${s}`,
  ),
  ...["released", "already_released", "not_held:committed", "not_held:expired", "not_found"].map((s) => `release:${s}`),
  ...["created", "duplicate", "conflict"].map((s) => `grant:${s}`),
  "voidGrant:voided",
  "voidGrant:already_voided",
  "voidEvent:voided",
  "voidEvent:already_voided",
  "voidEvent:refund",
  "voidEvent:refund-to-unusable",
  "advance:expired",
];

// ---- running a case against the ledger ----

function runCase(sql: SqlStorage, subjectId: string, c: Case, seen: Map<string, number>): void {
  const store = new LedgerStore(sql);
  store.claimSubject(subjectId);
  const entitlement: Entitlement = {
    limitE4: c.limit === null ? null : c.limit * E4,
    period: "month",
    enforcement: c.hard ? "hard" : "soft",
    thresholds: [50, 100],
    balanceThresholdsE4: [3 * E4],
  };
  store.setConfiguration({ subject: null, plan: null }, { planId: null, billingAnchorDay: null, entitlements: { [METER]: entitlement } });

  const model = new Model(c.limit, c.hard);
  const eventIds: string[] = [];
  const events = new Map<string, StoredEvent>();
  const holdIds: string[] = [];
  const grantIds: string[] = [];
  const grantIndex = (id: string) => grantIds.indexOf(id);
  const drawsOf = (e: StoredEvent): Draw[] => (e.grantDraws ?? []).map((d: GrantDraw) => [grantIndex(d.grantId), d.amountE4 / E4]);
  let n = 0;
  const fresh = (prefix: string) => `${prefix}${++n}`;

  /** The store's answer in the model's terms: a new event gets the next index, a replayed one its own. */
  const eventView = (e: StoredEvent, created: boolean): View => {
    if (created) {
      eventIds.push(e.id);
      events.set(e.id, e);
    }
    return { event: eventIds.indexOf(e.id), draws: drawsOf(e) };
  };
  const usageView = (o: RecordOutcome, consume: boolean): View => {
    if (o.status === "denied") return { status: o.status };
    const view = { status: o.status, ...eventView(o.event, o.status === "created") };
    return consume && o.status === "created" ? { ...view, overage: o.decision!.overage } : view;
  };
  const input = (amount: number, key: string | null, fingerprint: string, consume: boolean): LedgerEventInput => ({
    idempotencyKey: key,
    fingerprint,
    kind: "counter",
    operation: "add",
    subjectId,
    meter: METER,
    unit: "page",
    amountE4: amount * E4,
    occurredAt: model.now,
    dimensions: {},
    metadata: {},
    source: "test",
    mode: consume ? "consume" : "record",
  });
  /**
   * A key choice made concrete against the keys the model holds: none, a new key, or a key used
   * before with its request again (same fingerprint: a replay) or with another one (a conflict).
   */
  const keyed = <T>(
    choice: KeyChoice,
    keys: Map<string, number>,
    fingerprint: string,
    request: T,
    original: (i: number) => [string, T],
  ) => {
    if (choice.k === "none") return { key: null, fingerprint, request };
    if (choice.k === "fresh" || keys.size === 0) return { key: fresh("key-"), fingerprint, request };
    const [key, i] = [...keys.entries()][choice.pick % keys.size]!;
    const [used, again] = original(i);
    return choice.tweak ? { key, fingerprint: `${used}~`, request } : { key, fingerprint: used, request: again };
  };

  const runStep = (op: Op, step: number) => {
    const row = () => {
      // As every ledger call does first: holds past their time expire.
      store.settle(model.now);
      model.settle();
      const s = store.snapshot(METER, "counter", model.now);
      return {
        used: s.usedE4 / E4,
        held: s.heldE4 / E4,
        granted: s.grantedE4 / E4,
        remaining: s.remainingE4 === null ? null : s.remainingE4 / E4,
        fits: s.limitE4 === null || s.usedE4 + s.heldE4 <= s.limitE4 + s.grantedE4,
      };
    };
    const fitBefore = row().fits;
    const preserving = c.hard && keepsFit(op);
    let expected: View;
    let actual: View;
    const now = () => model.now;

    switch (op.op) {
      case "record":
      case "consume": {
        const consume = op.op === "consume";
        const k = keyed(op.key, model.eventKeys, fresh(`${op.op}:${op.amount}:`), op.amount, (i) => [
          model.events[i]!.fingerprint,
          model.events[i]!.amount,
        ]);
        const [outcome] = store.applyAll(subjectId, [input(k.request, k.key, k.fingerprint, consume)], now());
        expected = model.usage(k.request, k.key, k.fingerprint, consume);
        actual = usageView(outcome!, consume);
        break;
      }
      case "batch": {
        const inputs: LedgerEventInput[] = [];
        for (const item of op.items) {
          const previous = inputs.at(-1);
          if (item.again && previous) inputs.push({ ...previous });
          else {
            const fingerprint = fresh(`batch:${item.amount}:`);
            inputs.push(input(item.amount, fingerprint, fingerprint, item.consume));
          }
        }
        const outcomes = store.applyAll(subjectId, inputs, now());
        expected = {
          outcomes: inputs.map((i) => model.usage(i.amountE4 / E4, i.idempotencyKey, i.fingerprint, i.mode === "consume")),
        };
        actual = { outcomes: outcomes.map((o, i) => usageView(o, inputs[i]!.mode === "consume")) };
        break;
      }
      case "reserve": {
        const ttl = op.ttlMinutes * MINUTE;
        const k = keyed(op.key, model.holdKeys, fresh(`hold:${op.amount}:${ttl}:`), op.amount, (i) => [
          model.holds[i]!.fingerprint,
          model.holds[i]!.amount,
        ]);
        const outcome = reserve(
          store,
          subjectId,
          {
            meter: METER,
            kind: "counter",
            unit: "page",
            amountE4: k.request * E4,
            ttlMs: ttl,
            idempotencyKey: k.key,
            fingerprint: k.fingerprint,
            dimensions: {},
            metadata: {},
          },
          now(),
        );
        expected = model.reserve(k.request, ttl, k.key, k.fingerprint);
        if (outcome.status === "denied") actual = { status: outcome.status };
        else {
          if (outcome.status === "created") holdIds.push(outcome.reservation.id);
          const hold = holdIds.indexOf(outcome.reservation.id);
          actual =
            outcome.status === "created"
              ? { status: outcome.status, hold }
              : { status: outcome.status, hold, holdStatus: outcome.reservation.status };
        }
        break;
      }
      case "commit": {
        const i = holdIds.length === 0 || op.pick % 10 === 9 ? null : op.pick % holdIds.length;
        const held = i === null ? 1 : model.holds[i]!.amount;
        const amount = { default: null, equal: held, less: Math.max(0, held - op.delta), more: held + op.delta, zero: 0 }[op.how];
        const outcome = commit(
          store,
          subjectId,
          i === null ? "rsv_missing" : holdIds[i]!,
          { amountE4: amount === null ? null : amount * E4, occurredAt: null, source: "reservation" },
          now(),
        );
        expected = model.commit(i, amount);
        if (outcome.status === "not_found") actual = { status: outcome.status };
        else if (outcome.status === "committed" || outcome.status === "already_committed") {
          const commitEvent = outcome.event === null ? null : eventView(outcome.event, outcome.status === "committed");
          actual = { status: outcome.status, holdStatus: outcome.reservation.status, commitEvent };
          if (outcome.status === "committed") actual.overage = outcome.decision.overage;
        } else actual = { status: outcome.status, holdStatus: outcome.reservation.status };
        break;
      }
      case "release": {
        const i = holdIds.length === 0 || op.pick % 10 === 9 ? null : op.pick % holdIds.length;
        const outcome = release(store, subjectId, i === null ? "rsv_missing" : holdIds[i]!, now());
        expected = model.release(i);
        actual =
          outcome.status === "not_found" ? { status: outcome.status } : { status: outcome.status, holdStatus: outcome.reservation.status };
        break;
      }
      case "advance": {
        const target = op.ms === null ? (model.nextBoundary() ?? model.now + 1) : model.now + op.ms;
        model.now = Math.min(target, LAST);
        expected = { expired: op.expire ? model.expireDue() : null };
        actual = { expired: op.expire ? expireDue(store, subjectId, now()) : null };
        break;
      }
      case "grant": {
        const effectiveAt = model.now + op.starts;
        const spec: GrantSpec = {
          amount: op.amount,
          priority: op.priority,
          effectiveAt,
          expiresAt: op.lastsQuarters === null ? null : Math.max(effectiveAt, model.now) + op.lastsQuarters * 15 * MINUTE,
        };
        const k = keyed(op.key, model.grantKeys, fresh(`grant:${JSON.stringify(spec)}:`), spec, (i) => {
          const g = model.grants[i]!;
          return [g.fingerprint, { amount: g.amount, priority: g.priority, effectiveAt: g.effectiveAt, expiresAt: g.expiresAt }];
        });
        const outcome = createGrant(
          store,
          subjectId,
          {
            meter: METER,
            amountE4: k.request.amount * E4,
            priority: k.request.priority,
            effectiveAt: k.request.effectiveAt,
            expiresAt: k.request.expiresAt,
            idempotencyKey: k.key,
            fingerprint: k.fingerprint,
            metadata: {},
          },
          now(),
        );
        expected = model.grant(k.request, k.key, k.fingerprint);
        if (outcome.status === "created") grantIds.push(outcome.grant.id);
        actual = { status: outcome.status, grant: grantIndex(outcome.grant.id) };
        break;
      }
      case "voidGrant": {
        if (grantIds.length === 0) {
          expected = actual = {};
          break;
        }
        const i = op.pick % grantIds.length;
        expected = model.voidGrant(i);
        actual = { status: voidGrant(store, subjectId, grantIds[i]!, now()).status };
        break;
      }
      case "voidEvent": {
        if (eventIds.length === 0) {
          expected = actual = {};
          break;
        }
        const i = op.pick % eventIds.length;
        const e = events.get(eventIds[i]!)!;
        const target = { id: e.id, meter: METER, kind: "counter" as const, amountE4: e.amountE4, occurredAt: e.occurredAt };
        expected = model.voidEvent(i);
        actual = { status: store.voidEvent(subjectId, target, null, now()).status };
        break;
      }
    }

    for (const label of coverage(op, expected, model)) seen.set(label, (seen.get(label) ?? 0) + 1);
    const after = row();
    const grants = store.grants.list({ meter: null, includeInactive: true }, now()).map((g) => [grantIndex(g.id), g.remainingE4 / E4]);
    expect({ step, op: op.op, ...actual, row: after, grants }).toEqual({
      step,
      op: op.op,
      ...expected,
      row: {
        used: model.used(),
        held: model.held(),
        granted: model.granted(),
        remaining: model.remaining(),
        fits: model.fits(0),
      },
      grants: model.drawOrder().map((i) => [i, model.grants[i]!.remaining]),
    });
    // Overshoot 0: on a hard limit, nothing that only takes what fits may leave usage above it.
    if (preserving && fitBefore) expect({ step, fits: after.fits }).toEqual({ step, fits: true });
  };

  c.ops.forEach((op, step) => {
    try {
      runStep(op, step);
    } catch (error) {
      // Only the operations up to the one that went wrong matter: name them, one a line.
      if (error instanceof Error) {
        const ops = c.ops.slice(0, step + 1).map((o, i) => `  ${i}: ${JSON.stringify(o)}`);
        error.message = `limit ${String(c.limit)} (${c.hard ? "hard" : "soft"}), at step ${step} of:\n${ops.join("\n")}\n${error.message}`;
      }
      throw error;
    }
  });

  // History gets every event once, in order, with the draws it made: what D1 shows as drawn on which grant.
  const sent = store.outbox
    .peek(100_000, Number.MAX_SAFE_INTEGER)
    .entries.filter((e) => e.kind === "event")
    .map((e) => JSON.parse(e.body) as StoredEvent);
  expect(sent.map((e) => [eventIds.indexOf(e.id), drawsOf(e)])).toEqual(model.events.map((e, i) => [i, e.draws]));
}

describe("holds and grants against a reference model", () => {
  it("keep outcomes, used, held, granted, remaining, draws and every grant's balance equal to the model's (1,000 cases)", async () => {
    const subjectId = uniqueSubject("credits-model");
    await runInDurableObject(env.LEDGER.getByName(subjectId), (_instance, state) => {
      const sql = state.storage.sql;
      new LedgerStore(sql).migrate();
      const tables = sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT GLOB 'sqlite_*' AND name NOT GLOB '_cf_*'",
        )
        .toArray()
        .map((t) => t.name);
      const reset = () => {
        for (const table of tables)
          sql.exec(table === "ledger_meta" ? "DELETE FROM ledger_meta WHERE key != 'schema_version'" : `DELETE FROM ${table}`);
      };
      const seen = new Map<string, number>();
      fc.assert(
        fc.property(caseArb, (c) => {
          reset();
          state.storage.transactionSync(() => runCase(sql, subjectId, c, seen));
        }),
        { numRuns: 1000 },
      );
      // The cases reached every path the property is about, not just the easy ones.
      expect(REQUIRED.filter((label) => (seen.get(label) ?? 0) < 5)).toEqual([]);
    });
  }, 300_000);
});
