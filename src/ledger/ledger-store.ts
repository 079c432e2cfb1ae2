import {
  crossedThresholds,
  DEFAULT_GRANT_PRIORITY,
  decide,
  type Decision,
  type Entitlement,
  entitlementOf,
  type Headroom,
  type LedgerConfiguration,
  mergeConfiguration,
  reachedThresholds,
  remainingOf,
  type SubjectConfig,
} from "../domain/entitlements";
import type { MeterKind } from "../domain/event-rules";
import { periodContaining } from "../domain/periods";
import type { GrantDraw, StoredEvent } from "../domain/stored-event";
import { DAY_MS, dayOf, type UsageWindow, windowAt } from "../domain/usage-window";
import { type ClosedPeriod, ClosedPeriods } from "./closed-periods";
import type { CounterSnapshot, EntitlementSnapshot, LedgerEventInput, PeriodRow, RecordOutcome, VoidOutcome, VoidTarget } from "./contract";
import { Grants } from "./grants";
import { expireDue } from "./holds";
import { type HeldKey, IdempotencyKeys } from "./idempotency-keys";
import {
  balanceLowNotification,
  grantDepletedNotification,
  periodRestatedNotification,
  periodsClosedNotification,
  thresholdNotification,
  usageVoidedNotification,
} from "./ledger-notifications";
import { migrateLedgerSchema } from "./ledger-schema";
import { Outbox } from "./outbox";
import type { RebuiltMeter } from "./recalculation";
import { Reservations } from "./reservations";
import { UsageDays } from "./usage-days";

export type ApplyMode = "record" | "consume";

/** How many periods one meter may close in one call; the rest close on the next. */
const MAX_PERIODS_CLOSED_PER_CALL = 400;

/**
 * The subject's SQLite storage: configuration, usage per meter and day, gauge levels, closed
 * periods and fired thresholds, with its idempotency keys and its outbox to D1. Everything here
 * is synchronous so that one caller's transaction holds every check and write together.
 *
 * Usage is stored by the UTC day of each event's own timestamp and never by period: which period
 * a day belongs to is worked out from the configuration when it is asked (`windowAt`). So a plan,
 * period kind or anchor day change takes effect at once and exactly: `used` for any period is the
 * sum of the days in it, whatever the configuration was when the events came in.
 */
export class LedgerStore {
  readonly keys: IdempotencyKeys;
  readonly outbox: Outbox;
  readonly days: UsageDays;
  readonly closed: ClosedPeriods;
  readonly reservations: Reservations;
  readonly grants: Grants;
  /** Periods whose plan grant is known to be given (`meter`, start, amount): a cache of the grants table. */
  private readonly periodGrantsGiven = new Set<string>();
  /** Read on every event; storage stays the source of truth. */
  private cachedConfig: SubjectConfig | null = null;
  private boundSubject: string | null = null;
  /**
   * Events that replays in this call stand for, found neither in their key (keys before v5 kept a
   * copy) nor in the outbox: placeholders holding only the id, which the caller fills from history
   * after the transaction (`takeUnresolved`).
   */
  private readonly unresolved = new Map<string, StoredEvent>();

  constructor(private readonly sql: SqlStorage) {
    this.keys = new IdempotencyKeys(sql);
    this.outbox = new Outbox(sql);
    this.days = new UsageDays(sql);
    this.closed = new ClosedPeriods(sql);
    this.reservations = new Reservations(sql, () => this.subjectId());
    this.grants = new Grants(sql, () => this.subjectId());
  }

  migrate(): void {
    migrateLedgerSchema(this.sql);
  }

  /** Binds the object to its subject on first use; a different subject afterwards is a routing bug. */
  claimSubject(subjectId: string): void {
    const bound = this.subjectId();
    if (bound === null) this.setMeta("subject_id", subjectId);
    else if (bound !== subjectId) throw new Error(`ledger of '${bound}' was asked to act for '${subjectId}'`);
  }

  /** Remembered once read back from storage: a claim in a transaction that rolled back must not count. */
  subjectId(): string | null {
    this.boundSubject ??= this.getMeta("subject_id");
    return this.boundSubject;
  }

  config(): SubjectConfig {
    if (!this.cachedConfig) {
      const raw = this.getMeta("config");
      this.cachedConfig = raw ? (JSON.parse(raw) as SubjectConfig) : { planId: null, billingAnchorDay: null, entitlements: {} };
    }
    return this.cachedConfig;
  }

  configuration(): LedgerConfiguration {
    const raw = this.getMeta("configuration");
    return raw ? (JSON.parse(raw) as LedgerConfiguration) : { subject: null, plan: null };
  }

  /**
   * Takes a plan or subject change, in the caller's transaction. Nothing is recounted: usage is
   * kept per day and periods are derived from the configuration when asked, so `used` follows the
   * new configuration at once. Thresholds that usage already reaches under new limits notify now.
   */
  configure(subjectId: string, update: Partial<LedgerConfiguration>, nowMs: number): SubjectConfig {
    const { configuration, config } = mergeConfiguration(this.configuration(), update);
    this.setConfiguration(configuration, config);
    this.settle(nowMs);
    this.fireReachedThresholds(subjectId, nowMs);
    for (const meter of Object.keys(config.entitlements)) this.syncBalanceAlerts(subjectId, meter, nowMs, null);
    return config;
  }

  /** Keeps the pushed settings and the effective config derived from them. */
  setConfiguration(configuration: LedgerConfiguration, config: SubjectConfig): void {
    this.setMeta("configuration", JSON.stringify(configuration));
    this.setMeta("config", JSON.stringify(config));
    this.cachedConfig = config;
  }

  entitlementOf(meter: string): Entitlement {
    return entitlementOf(this.config(), meter);
  }

  /** Whether the configuration names the meter (limited or not); unnamed meters are unlimited monthly counters. */
  isEntitled(meter: string): boolean {
    return Object.hasOwn(this.config().entitlements, meter);
  }

  /**
   * The window an instant's usage of a meter counts in: the configured period around it, or the
   * closed period that holds it (see `windowAt` in src/domain/usage-window.ts).
   */
  windowAt(meter: string, atMs: number, lastClosedEnd?: number | null): UsageWindow {
    return this.locate(meter, atMs, lastClosedEnd).window;
  }

  /**
   * The window of an instant, and the closed period holding it when there is one. `lastClosedEnd`
   * (where the meter's latest closed period ends) may be passed when already read.
   */
  private locate(meter: string, atMs: number, lastClosedEnd?: number | null): { window: UsageWindow; closed: ClosedPeriod | null } {
    const { period } = this.entitlementOf(meter);
    const anchor = this.config().billingAnchorDay;
    const none = { containing: null, closedBefore: null, closedAfter: null };
    if (period === "none") return { window: windowAt(atMs, period, anchor, none), closed: null };
    const lastEnd = lastClosedEnd === undefined ? this.closed.lastEnd(meter) : lastClosedEnd;
    // Most events are newer than every closed period: then no closed period can hold or follow them.
    if (lastEnd === null || atMs >= lastEnd) {
      return { window: windowAt(atMs, period, anchor, { ...none, closedBefore: lastEnd }), closed: null };
    }
    const around = this.closed.around(meter, atMs);
    return { window: windowAt(atMs, period, anchor, around), closed: around.containing };
  }

  /** The current usage that limits compare against: the window's total, or a gauge's level. */
  usedE4(meter: string, kind: MeterKind, window: UsageWindow): number {
    return kind === "gauge" ? this.gaugeLevel(meter) : this.days.sum(meter, window).totalE4;
  }

  /** Live holds on the meter, and what grants give its window (counters only: grants never add to a gauge). */
  headroom(meter: string, kind: MeterKind, window: UsageWindow, nowMs: number): Headroom {
    const heldE4 = this.reservations.heldE4(meter, nowMs);
    if (kind === "gauge") return { heldE4, grantedE4: 0 };
    return { heldE4, grantedE4: this.grants.drawnE4(meter, window) + this.grants.balanceE4(meter, nowMs) };
  }

  /** What is left under the limit now: `limit − used − held + granted` (null when unlimited). */
  remainingE4(meter: string, kind: MeterKind, nowMs: number): number | null {
    const { limitE4 } = this.entitlementOf(meter);
    if (limitE4 === null) return null;
    const window = this.windowAt(meter, nowMs);
    return remainingOf(limitE4, this.usedE4(meter, kind, window), this.headroom(meter, kind, window, nowMs));
  }

  /**
   * Applies events in order, inside the caller's transaction. Runs of plain counter records (the
   * bulk of traffic) go through `recordCounters`, a few statements per run whatever its length;
   * consumes and gauge moves, which depend on what came before them, go one by one.
   */
  applyAll(subjectId: string, inputs: LedgerEventInput[], nowMs: number): RecordOutcome[] {
    this.settle(nowMs);
    const outcomes: RecordOutcome[] = [];
    let run: LedgerEventInput[] = [];
    const flushRun = () => {
      if (run.length > 0) outcomes.push(...this.recordCounters(subjectId, run, nowMs));
      run = [];
    };
    for (const input of inputs) {
      if ((input.mode ?? "record") === "record" && input.kind === "counter" && !input.lockedDraws) {
        run.push(input);
        continue;
      }
      flushRun();
      outcomes.push(this.apply(subjectId, input, nowMs));
    }
    flushRun();
    for (const meter of new Set(inputs.map((i) => i.meter))) this.syncBalanceAlerts(subjectId, meter, nowMs, lastEventId(outcomes, meter));
    return outcomes;
  }

  /** Checks the key, decides (consume), counts, fires thresholds and queues the event. Call inside a transaction. */
  apply(subjectId: string, input: LedgerEventInput, nowMs: number, mode: ApplyMode = input.mode ?? "record"): RecordOutcome {
    if (mode === "record" && input.kind === "counter" && !input.lockedDraws) return this.recordCounters(subjectId, [input], nowMs)[0]!;
    const seen = this.replay(input);
    if (seen) return seen;

    const entitlement = this.entitlementOf(input.meter);
    const { window, closed } = this.locate(input.meter, input.occurredAt);
    const before = this.usedE4(input.meter, input.kind, window);
    const after = input.kind === "gauge" ? nextLevel(before, input) : before + input.amountE4;
    let decision: Decision | undefined;
    if (mode === "consume") {
      decision = decide(before, after - before, entitlement, this.headroom(input.meter, input.kind, window, nowMs));
      if (!decision.allowed) return { status: "denied", decision };
    }

    const event = newEvent(subjectId, input, nowMs, this.outbox.nextSeq());
    if (input.kind === "gauge") {
      this.sql.exec(
        "INSERT INTO gauges (meter, level_e4) VALUES (?, ?) ON CONFLICT (meter) DO UPDATE SET level_e4 = excluded.level_e4",
        input.meter,
        after,
      );
      this.days.addGaugeMove(input.meter, dayOf(input.occurredAt), after - before, after);
    } else {
      this.drawGrants(subjectId, event, window, before, entitlement, nowMs, input.lockedDraws);
      this.days.addCounts(input.meter, dayOf(input.occurredAt), input.amountE4, 1, input.amountE4);
    }
    if (closed) this.restateClosed(subjectId, closed, input.kind, nowMs);
    this.fireThresholds(subjectId, input.meter, window, before, after, entitlement, event.id, nowMs);
    if (input.idempotencyKey !== null) this.keys.keep(input.idempotencyKey, input.fingerprint, { eventId: event.id, decision }, nowMs);
    this.outbox.append("event", JSON.stringify(event));
    return { status: "created", event, decision };
  }

  /**
   * Plain records on counters, set-based: one statement claims the new keys, one upsert per
   * (meter, day) counts, one statement queues the events. A key seen before, or repeated in the
   * run, answers as a replay of the event that holds it. Thresholds are walked event by event, so
   * the notification names the event that crossed.
   */
  private recordCounters(subjectId: string, inputs: LedgerEventInput[], nowMs: number): RecordOutcome[] {
    const firstWithKey = new Map<string, number>();
    const candidates: number[] = [];
    inputs.forEach((input, i) => {
      const key = input.idempotencyKey;
      if (key !== null && firstWithKey.has(key)) return;
      if (key !== null) firstWithKey.set(key, i);
      candidates.push(i);
    });
    const events = candidates.map((i) => newEvent(subjectId, inputs[i]!, nowMs, this.outbox.nextSeq()));
    const rows = JSON.stringify(events.map((e, k) => ({ f: inputs[candidates[k]!]!.fingerprint, e })));

    const claimed = firstWithKey.size > 0 ? this.keys.claimEach(rows, nowMs) : new Set<string>();
    const created = candidates.map((i) => inputs[i]!.idempotencyKey === null || claimed.has(inputs[i]!.idempotencyKey!));
    const createdEvents = events.filter((_, k) => created[k]);
    const drew = this.countRun(subjectId, createdEvents, nowMs);
    if (drew.length > 0) {
      // Rare: some events drew on grants, so the JSON made before counting lacks their draws.
      for (const event of createdEvents) this.outbox.append("event", JSON.stringify(event));
    } else if (createdEvents.length > 0) {
      this.outbox.appendEach(
        "event",
        rows,
        "$.e",
        created.flatMap((yes, k) => (yes ? [] : [k])),
        createdEvents.length,
      );
    }

    const createdAt = new Map<number, StoredEvent>();
    candidates.forEach((i, k) => {
      if (created[k]) createdAt.set(i, events[k]!);
    });
    const kept = this.keys.heldEach(inputs.filter((_, i) => !createdAt.has(i)).map((input) => input.idempotencyKey!));
    const replayed = this.eventsOf([...kept.values()]);
    return inputs.map((input, i) => {
      const event = createdAt.get(i);
      if (event) return { status: "created", event };
      // A replay: of an event created earlier in this run, or of one the key held before.
      const first = firstWithKey.get(input.idempotencyKey!)!;
      const earlier = createdAt.get(first);
      const held: HeldKey = earlier
        ? { fingerprint: inputs[first]!.fingerprint, eventId: earlier.id, event: earlier }
        : kept.get(input.idempotencyKey!)!;
      const status = held.fingerprint === input.fingerprint ? "duplicate" : "conflict";
      return { status, event: earlier ?? replayed.get(held.eventId)!, decision: held.decision };
    });
  }

  /**
   * Counts created counter events: one upsert per (meter, day); then, per window, the grants each
   * event drew past the allowance and the thresholds it crossed (limited meters only), and the
   * restatement of a closed period they landed in. Answers the events that drew on grants.
   */
  private countRun(subjectId: string, events: StoredEvent[], nowMs: number): StoredEvent[] {
    const lastClosedEnds = new Map<string, number | null>();
    const windows = new Map<string, { meter: string; window: UsageWindow; events: StoredEvent[] }>();
    const days = new Map<string, { meter: string; day: number; totalE4: number; count: number; peakE4: number }>();
    for (const event of events) {
      if (!lastClosedEnds.has(event.meter)) lastClosedEnds.set(event.meter, this.closed.lastEnd(event.meter));
      const window = this.windowAt(event.meter, event.occurredAt, lastClosedEnds.get(event.meter));
      const windowId = `${event.meter}\u0000${window.start}`;
      const group = windows.get(windowId) ?? { meter: event.meter, window, events: [] };
      group.events.push(event);
      windows.set(windowId, group);
      const day = dayOf(event.occurredAt);
      const dayId = `${event.meter}\u0000${day}`;
      const sum = days.get(dayId) ?? { meter: event.meter, day, totalE4: 0, count: 0, peakE4: 0 };
      sum.totalE4 += event.amountE4;
      sum.count += 1;
      sum.peakE4 = Math.max(sum.peakE4, event.amountE4);
      days.set(dayId, sum);
    }

    const before = new Map<string, number>();
    for (const [id, { meter, window }] of windows) {
      const lastEnd = lastClosedEnds.get(meter) ?? null;
      const inClosed = window.kind === "bounded" && lastEnd !== null && window.start < lastEnd;
      if (this.entitlementOf(meter).limitE4 !== null || inClosed) before.set(id, this.days.sum(meter, window).totalE4);
    }
    const drew: StoredEvent[] = [];
    // Draws walk events in order from the window's usage before the run.
    for (const [id, { meter, window, events: grouped }] of windows) {
      const level = before.get(id);
      const entitlement = this.entitlementOf(meter);
      if (level === undefined || entitlement.limitE4 === null || !this.grants.anyLeft(meter)) continue;
      let used = level;
      for (const event of grouped) {
        if (this.drawGrants(subjectId, event, window, used, entitlement, nowMs)) drew.push(event);
        used += event.amountE4;
      }
    }
    for (const { meter, day, totalE4, count, peakE4 } of days.values()) this.days.addCounts(meter, day, totalE4, count, peakE4);

    for (const [id, { meter, window, events: grouped }] of windows) {
      const level = before.get(id);
      if (level === undefined) continue;
      const closedPeriod = window.kind === "bounded" ? this.locate(meter, window.start, lastClosedEnds.get(meter)).closed : null;
      if (closedPeriod) this.restateClosed(subjectId, closedPeriod, "counter", nowMs);
      const entitlement = this.entitlementOf(meter);
      if (entitlement.limitE4 === null) continue;
      let used = level;
      for (const event of grouped) {
        this.fireThresholds(subjectId, meter, window, used, used + event.amountE4, entitlement, event.id, nowMs);
        used += event.amountE4;
      }
    }
    return drew;
  }

  /**
   * Draws on grants what a counter event takes past the window's free allowance (`beforeE4` is the
   * window's usage before it, draws included), and notes the draws on the event; a committed
   * hold's event takes from what the hold set aside first (`locked`). Answers whether it drew.
   * Call before the event is added to its day.
   */
  private drawGrants(
    subjectId: string,
    event: StoredEvent,
    window: UsageWindow,
    beforeE4: number,
    entitlement: Entitlement,
    nowMs: number,
    locked: GrantDraw[] = [],
  ): boolean {
    if (entitlement.limitE4 === null) {
      this.grants.settle(event.id, event.meter, event.occurredAt, 0, locked);
      return false;
    }
    if (locked.length === 0 && !this.grants.anyLeft(event.meter)) return false;
    const excess = event.amountE4 - this.allowanceLeftE4(event.meter, window, beforeE4, entitlement.limitE4, nowMs);
    if (excess <= 0 && locked.length === 0) return false;
    const { draws, depleted } = this.grants.settle(event.id, event.meter, event.occurredAt, excess, locked);
    for (const grant of depleted) {
      this.outbox.append("notification", JSON.stringify(grantDepletedNotification(subjectId, grant, event.id, nowMs)));
    }
    if (draws.length === 0) return false;
    event.grantDraws = draws;
    return true;
  }

  /**
   * What of a window's allowance is still free: the limit, less the usage that drew on it
   * (`beforeE4` less grant draws) and, in the current window, less what live holds set aside.
   */
  allowanceLeftE4(meter: string, window: UsageWindow, beforeE4: number, limitE4: number, nowMs: number): number {
    const current = window.kind === "all-time" || (window.start <= nowMs && nowMs < window.end);
    const held = current ? this.reservations.heldE4(meter, nowMs) : 0;
    return Math.max(0, limitE4 - held - (beforeE4 - this.grants.drawnE4(meter, window)));
  }

  /** Sets aside, for a new hold, the grant balance it needs past the free allowance (`amountE4`). */
  lockGrants(subjectId: string, reservationId: string, meter: string, amountE4: number, nowMs: number): void {
    if (amountE4 <= 0) return;
    for (const grant of this.grants.draw(reservationId, meter, nowMs, amountE4).depleted) {
      this.outbox.append("notification", JSON.stringify(grantDepletedNotification(subjectId, grant, null, nowMs)));
    }
  }

  /** What a key already stands for: the same event (duplicate) or another one (conflict); null when new. */
  private replay(input: LedgerEventInput): RecordOutcome | null {
    if (input.idempotencyKey === null) return null;
    const held = this.keys.held(input.idempotencyKey);
    if (!held) return null;
    const event = this.eventsOf([held]).get(held.eventId)!;
    return { status: held.fingerprint === input.fingerprint ? "duplicate" : "conflict", event, decision: held.decision };
  }

  /**
   * The events held keys stand for, by id: the key's own copy (keys before v5), else the outbox's,
   * else a placeholder the caller fills from history after the transaction (`takeUnresolved`).
   */
  eventsOf(held: Pick<HeldKey, "eventId" | "event">[]): Map<string, StoredEvent> {
    const found = new Map<string, StoredEvent>();
    const missing: string[] = [];
    for (const { eventId, event } of held) {
      if (event) found.set(eventId, event);
      else if (!found.has(eventId)) missing.push(eventId);
    }
    if (missing.length === 0) return found;
    for (const event of this.outbox.waitingEvents(missing)) found.set(event.id, event);
    for (const id of missing) {
      if (found.has(id)) continue;
      const placeholder = this.unresolved.get(id) ?? ({ id } as StoredEvent);
      this.unresolved.set(id, placeholder);
      found.set(id, placeholder);
    }
    return found;
  }

  /** Whether an event is a placeholder still to be read from history. */
  isUnresolved(event: StoredEvent): boolean {
    return this.unresolved.get(event.id) === event;
  }

  /** The placeholders handed out since the last take, by id; the caller fills them in place. */
  takeUnresolved(): Map<string, StoredEvent> {
    const taken = new Map(this.unresolved);
    this.unresolved.clear();
    return taken;
  }

  /**
   * Notifies each threshold a move crossed, once per meter, window and limit (a new limit has new
   * marks). `eventId` is null when a configuration change, not an event, brought usage there.
   */
  private fireThresholds(
    subjectId: string,
    meter: string,
    window: UsageWindow,
    before: number,
    after: number,
    entitlement: Entitlement,
    eventId: string | null,
    nowMs: number,
  ): void {
    const crossed = eventId === null ? reachedThresholds(after, entitlement) : crossedThresholds(before, after, entitlement);
    for (const threshold of crossed) {
      const fired = this.sql.exec(
        "INSERT INTO fired_thresholds (meter, period_start, limit_e4, threshold) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        meter,
        window.start ?? 0,
        entitlement.limitE4,
        threshold,
      ).rowsWritten;
      if (fired === 0) continue;
      const notification = thresholdNotification({ subjectId, meter, window, threshold, usedE4: after, entitlement, eventId, nowMs });
      this.outbox.append("notification", JSON.stringify(notification));
    }
  }

  /**
   * Takes an event back (a void, or the first half of an amend), once: a counter's day is
   * restated, and with it any closed period that holds the event and the thresholds it no longer
   * reaches (so crossing them again notifies again). A gauge's level cannot be undone move by move
   * (a removal may have stopped at 0, a set forgets what was there), so the caller rebuilds gauges
   * from history once the void has reached D1 (`rebuildGauge`). History keeps the event, marked.
   */
  voidEvent(subjectId: string, target: VoidTarget, reason: string | null, nowMs: number): VoidOutcome {
    this.settle(nowMs);
    const seen = this.sql
      .exec<{ voided_at: number; reason: string | null }>("SELECT voided_at, reason FROM voided_events WHERE event_id = ?", target.id)
      .toArray()[0];
    // A gauge is rebuilt on a repeated void too: the first one may have failed before its rebuild.
    if (seen) return { status: "already_voided", voidedAt: seen.voided_at, reason: seen.reason, rebuildGauge: target.kind === "gauge" };
    this.sql.exec(
      "INSERT INTO voided_events (event_id, meter, occurred_at, amount_e4, voided_at, reason) VALUES (?, ?, ?, ?, ?, ?)",
      target.id,
      target.meter,
      target.occurredAt,
      target.amountE4,
      nowMs,
      reason,
    );
    if (target.kind === "counter") {
      const { window, closed: holding } = this.locate(target.meter, target.occurredAt);
      this.grants.refund(target.id);
      this.days.addCounts(target.meter, dayOf(target.occurredAt), -target.amountE4, -1, 0);
      if (holding) this.restateClosed(subjectId, holding, "counter", nowMs);
      this.unfireThresholds(target.meter, window, this.days.sum(target.meter, window).totalE4);
    }
    this.outbox.append("void", JSON.stringify({ id: target.id, voidedAt: nowMs, reason }));
    this.outbox.append("notification", JSON.stringify(usageVoidedNotification(subjectId, target, nowMs, reason)));
    this.syncBalanceAlerts(subjectId, target.meter, nowMs, null);
    return { status: "voided", voidedAt: nowMs, reason, rebuildGauge: target.kind === "gauge" };
  }

  /** When an event was voided here, and why; null when it was not. */
  voidOf(eventId: string): { voidedAt: number; reason: string | null } | null {
    const row = this.sql
      .exec<{ voided_at: number; reason: string | null }>("SELECT voided_at, reason FROM voided_events WHERE event_id = ?", eventId)
      .toArray()[0];
    return row ? { voidedAt: row.voided_at, reason: row.reason } : null;
  }

  /** Forgets fired thresholds of a window that usage no longer reaches under the current limit. */
  private unfireThresholds(meter: string, window: UsageWindow, usedE4: number): void {
    const entitlement = this.entitlementOf(meter);
    if (entitlement.limitE4 === null) return;
    this.sql.exec(
      `DELETE FROM fired_thresholds WHERE meter = ? AND period_start = ? AND limit_e4 = ?
         AND threshold NOT IN (SELECT value FROM json_each(?))`,
      meter,
      window.start ?? 0,
      entitlement.limitE4,
      JSON.stringify(reachedThresholds(usedE4, entitlement)),
    );
  }

  /**
   * Replaces a meter's days from `fromDay` on (every day when null) with what history says, a
   * gauge's level too, and restates the closed periods they touch. Called with history read after
   * the outbox drained (recalculation, voided gauge moves).
   */
  rebuildMeter(subjectId: string, rebuilt: RebuiltMeter, fromDay: number | null, nowMs: number): void {
    this.days.replaceFrom(rebuilt.meter, fromDay ?? Number.MIN_SAFE_INTEGER, rebuilt.days);
    if (rebuilt.kind === "gauge") this.setGaugeLevel(rebuilt.meter, rebuilt.levelE4 ?? 0);
    const from = fromDay === null ? Number.MIN_SAFE_INTEGER : fromDay * DAY_MS;
    this.restateClosedBetween(subjectId, rebuilt.meter, rebuilt.kind, from, Number.MAX_SAFE_INTEGER, nowMs);
  }

  /**
   * After a configuration change: notifies the thresholds that usage in each limited meter's
   * current window has reached under the new limits and not yet notified.
   */
  fireReachedThresholds(subjectId: string, nowMs: number): void {
    const gauges = new Set(this.gaugeMeters());
    for (const [meter, entitlement] of Object.entries(this.config().entitlements)) {
      if (entitlement.limitE4 === null) continue;
      const window = this.windowAt(meter, nowMs);
      const used = this.usedE4(meter, gauges.has(meter) ? "gauge" : "counter", window);
      this.fireThresholds(subjectId, meter, window, used, used, entitlement, null, nowMs);
    }
  }

  /**
   * Closes, per meter, every period that ended by `asOfMs` and is not closed yet, in order and
   * without gaps from where the last closing stopped (or the first usage), so every instant ends
   * up in exactly one closed period. Entitled and gauge meters close every period, idle ones
   * included (a counter at 0, a gauge at its carried level); other meters only periods with usage.
   * All-time meters never close. Running it again changes nothing.
   */
  closePeriods(subjectId: string, asOfMs: number, kinds: Record<string, MeterKind>, nowMs: number): PeriodRow[] {
    this.settle(nowMs);
    const gauges = new Set(this.gaugeMeters());
    const meters = new Set([...Object.keys(this.config().entitlements), ...gauges, ...this.days.meters()]);
    const closed: PeriodRow[] = [];
    for (const meter of [...meters].sort()) {
      const kind: MeterKind = gauges.has(meter) || kindOf(kinds, meter) === "gauge" ? "gauge" : "counter";
      closed.push(...this.closeMeter(subjectId, meter, kind, asOfMs, nowMs));
    }
    if (closed.length > 0) this.outbox.append("notification", JSON.stringify(periodsClosedNotification(subjectId, closed, nowMs)));
    return closed;
  }

  private closeMeter(subjectId: string, meter: string, kind: MeterKind, asOfMs: number, nowMs: number): PeriodRow[] {
    const entitlement = this.entitlementOf(meter);
    if (entitlement.period === "none") return [];
    const everyPeriod = this.isEntitled(meter) || kind === "gauge";
    const rows: PeriodRow[] = [];
    let budget = MAX_PERIODS_CLOSED_PER_CALL;
    // The open stretches between closed periods: before the first (late usage), between, after the last.
    for (const gap of this.openGaps(meter)) {
      const firstDay = this.days.firstDayFrom(meter, gap.start === null ? Number.MIN_SAFE_INTEGER : Math.ceil(gap.start / DAY_MS));
      const starts = firstDay !== null && (gap.end === null || firstDay * DAY_MS < gap.end) ? [firstDay * DAY_MS] : [];
      if (gap.end === null && everyPeriod) starts.push(gap.start ?? this.lastEndedPeriodStart(meter, asOfMs));
      if (starts.length === 0) continue;
      let cursor = Math.min(...starts);
      while (budget > 0 && (gap.end === null || cursor < gap.end)) {
        const window = this.windowAt(meter, cursor);
        if (window.kind !== "bounded" || window.end > asOfMs) break;
        const period = this.measure(meter, kind, window.start, window.end);
        if (everyPeriod || period.eventCount > 0) {
          const row: ClosedPeriod = { ...period, limitE4: entitlement.limitE4, closedAt: nowMs, restatedAt: null };
          this.closed.insert(row);
          rows.push(this.enqueuePeriod(subjectId, row, kind));
          budget -= 1;
          if (kind === "counter") this.rollOver(meter, window, period.totalE4, entitlement, nowMs);
        }
        if (entitlement.periodGrant) this.givePeriodGrant(meter, window.end, entitlement.periodGrant, nowMs);
        cursor = window.end;
      }
    }
    return rows;
  }

  /**
   * Carries a closed period's unused allowance into a grant that starts where the period ends and
   * lasts `expiresAfterPeriods` periods, capped by `maxAmount` and `maxPercent` of the limit. Once
   * per period (a closed period never closes again, and the grant is keyed by it).
   */
  private rollOver(
    meter: string,
    window: UsageWindow & { kind: "bounded" },
    totalE4: number,
    entitlement: Entitlement,
    nowMs: number,
  ): void {
    const { rollover, limitE4 } = entitlement;
    if (!rollover || limitE4 === null) return;
    const fromAllowance = totalE4 - this.grants.drawnE4(meter, window, true);
    let amountE4 = Math.max(0, limitE4 - fromAllowance);
    if (rollover.maxAmountE4 !== null) amountE4 = Math.min(amountE4, rollover.maxAmountE4);
    if (rollover.maxPercent !== null) amountE4 = Math.min(amountE4, Math.floor((limitE4 * rollover.maxPercent) / 100));
    if (amountE4 <= 0) return;
    this.giveGrant(meter, "rollover", `rollover:${meter}:${window.start}`, {
      amountE4,
      priority: DEFAULT_GRANT_PRIORITY,
      effectiveAt: window.end,
      expiresAt: this.endAfterPeriods(meter, window.end, rollover.expiresAfterPeriods),
      nowMs,
    });
  }

  /**
   * Brings time-driven state up to `nowMs` before anything reads or changes balances: holds past
   * their time expire (whichever comes first, this or the alarm), and the plan grants of the
   * current periods are given.
   */
  settle(nowMs: number): void {
    const subjectId = this.subjectId();
    if (subjectId === null) return;
    expireDue(this, subjectId, nowMs);
    this.givePeriodGrants(nowMs);
  }

  /** Gives each entitled meter's plan grant for the period around `nowMs`, once per period. */
  givePeriodGrants(nowMs: number): void {
    for (const [meter, entitlement] of Object.entries(this.config().entitlements)) {
      if (!entitlement.periodGrant) continue;
      const window = this.windowAt(meter, nowMs);
      if (window.kind === "bounded") this.givePeriodGrant(meter, window.start, entitlement.periodGrant, nowMs);
    }
  }

  private givePeriodGrant(meter: string, periodStart: number, grant: NonNullable<Entitlement["periodGrant"]>, nowMs: number): void {
    const origin = `plan:${meter}:${periodStart}`;
    const cacheKey = `${origin}:${grant.amountE4}`;
    if (this.periodGrantsGiven.has(cacheKey)) return;
    this.giveGrant(meter, "plan", origin, {
      amountE4: grant.amountE4,
      priority: grant.priority,
      effectiveAt: periodStart,
      expiresAt: this.endAfterPeriods(meter, periodStart, grant.expiresAfterPeriods),
      nowMs,
    });
    this.periodGrantsGiven.add(cacheKey);
  }

  /** A grant the configuration gives (plan or rollover), once per origin; none when it would be over already. */
  private giveGrant(
    meter: string,
    source: "plan" | "rollover",
    origin: string,
    g: { amountE4: number; priority: number; effectiveAt: number; expiresAt: number | null; nowMs: number },
  ): void {
    if ((g.expiresAt !== null && g.expiresAt <= g.nowMs) || this.grants.byOrigin(origin)) return;
    this.grants.insert(
      {
        id: newGrantId(),
        subjectId: this.subjectId() ?? "",
        meter,
        amountE4: g.amountE4,
        remainingE4: g.amountE4,
        priority: g.priority,
        effectiveAt: g.effectiveAt,
        expiresAt: g.expiresAt,
        voidedAt: null,
        createdAt: g.nowMs,
        source,
        idempotencyKey: null,
        fingerprint: origin,
        metadata: {},
      },
      origin,
    );
  }

  /** Where the `n`th configured period from `startMs` ends; null for all-time meters. */
  private endAfterPeriods(meter: string, startMs: number, n: number): number | null {
    let cursor = startMs;
    for (let i = 0; i < n; i += 1) {
      const window = this.windowAt(meter, cursor);
      if (window.kind !== "bounded") return null;
      cursor = window.end;
    }
    return cursor;
  }

  /**
   * Keeps balance.low marks true for the meter's current window: each configured amount that
   * remaining (holds and grants counted) is at or below notifies once; one it rose above again is
   * re-armed. Called after anything that moves remaining.
   */
  syncBalanceAlerts(subjectId: string, meter: string, nowMs: number, eventId: string | null): void {
    const entitlement = this.entitlementOf(meter);
    if (!entitlement.balanceThresholdsE4 || entitlement.limitE4 === null) return;
    const kind: MeterKind = this.gaugeMeters().includes(meter) ? "gauge" : "counter";
    const window = this.windowAt(meter, nowMs);
    const used = this.usedE4(meter, kind, window);
    const headroom = this.headroom(meter, kind, window, nowMs);
    const remaining = remainingOf(entitlement.limitE4, used, headroom)!;
    for (const thresholdE4 of entitlement.balanceThresholdsE4) {
      if (remaining > thresholdE4) {
        this.sql.exec(
          "DELETE FROM fired_balance_alerts WHERE meter = ? AND period_start = ? AND threshold_e4 = ?",
          meter,
          window.start ?? 0,
          thresholdE4,
        );
        continue;
      }
      const fired = this.sql.exec(
        "INSERT INTO fired_balance_alerts (meter, period_start, threshold_e4) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        meter,
        window.start ?? 0,
        thresholdE4,
      ).rowsWritten;
      if (fired === 0) continue;
      const notification = balanceLowNotification({
        subjectId,
        meter,
        window,
        thresholdE4,
        remainingE4: remaining,
        usedE4: used,
        headroom,
        entitlement,
        eventId,
        nowMs,
      });
      this.outbox.append("notification", JSON.stringify(notification));
    }
  }

  /** The stretches of time no closed period of the meter covers, in order; null is unbounded. */
  private openGaps(meter: string): { start: number | null; end: number | null }[] {
    const gaps: { start: number | null; end: number | null }[] = [];
    let start: number | null = null;
    for (const span of this.closed.spans(meter)) {
      if (start === null || span.start > start) gaps.push({ start, end: span.start });
      start = span.end;
    }
    gaps.push({ start, end: null });
    return gaps;
  }

  /** Where the latest configured period that ended by `asOfMs` starts (the first closing of an idle meter). */
  private lastEndedPeriodStart(meter: string, asOfMs: number): number {
    const { period } = this.entitlementOf(meter);
    const anchor = this.config().billingAnchorDay ?? 1;
    const kind = period === "none" ? "month" : period;
    const current = periodContaining(asOfMs - 1, kind, anchor);
    return current.end <= asOfMs ? current.start : periodContaining(current.start - 1, kind, anchor).start;
  }

  /** A meter's totals over `[start, end)` as a period row holds them. */
  private measure(meter: string, kind: MeterKind, start: number, end: number): Omit<ClosedPeriod, "limitE4" | "closedAt" | "restatedAt"> {
    const window: UsageWindow = { kind: "bounded", start, end };
    if (kind === "gauge") {
      const span = this.days.gaugeSpan(meter, Math.ceil(start / DAY_MS), Math.ceil(end / DAY_MS));
      return { meter, start, end, totalE4: span.endValueE4, eventCount: span.eventCount, endValueE4: span.endValueE4, peakE4: span.peakE4 };
    }
    const { totalE4, eventCount } = this.days.sum(meter, window);
    return { meter, start, end, totalE4, eventCount, endValueE4: null, peakE4: null };
  }

  /** Re-measures a closed period after usage in it changed; sends the new row and a period.restated when it did change. */
  restateClosed(subjectId: string, period: ClosedPeriod, kind: MeterKind, nowMs: number): void {
    const now = this.measure(period.meter, kind, period.start, period.end);
    if (now.totalE4 === period.totalE4 && now.eventCount === period.eventCount && now.peakE4 === period.peakE4) return;
    const restated: ClosedPeriod = { ...period, ...now, restatedAt: nowMs };
    this.closed.restate(restated);
    this.enqueuePeriod(subjectId, restated, kind);
    this.outbox.append("notification", JSON.stringify(periodRestatedNotification(subjectId, period, restated, nowMs)));
  }

  /** Restates every closed period of a meter that shares a day with `[fromMs, toMs)` (recalculation, voids). */
  restateClosedBetween(subjectId: string, meter: string, kind: MeterKind, fromMs: number, toMs: number, nowMs: number): void {
    for (const period of this.closed.overlapping(meter, fromMs, toMs)) this.restateClosed(subjectId, period, kind, nowMs);
  }

  private enqueuePeriod(subjectId: string, period: ClosedPeriod, kind: MeterKind): PeriodRow {
    const row: PeriodRow = {
      subjectId,
      meter: period.meter,
      periodStart: period.start,
      periodEnd: period.end,
      totalE4: period.totalE4,
      eventCount: period.eventCount,
      limitE4: period.limitE4,
      endValueE4: kind === "gauge" ? period.endValueE4 : null,
      peakE4: kind === "gauge" ? period.peakE4 : null,
      closedAt: period.closedAt,
      restatedAt: period.restatedAt,
    };
    this.outbox.append("period", JSON.stringify(row));
    return row;
  }

  /** A meter's row of GET …/entitlements at `nowMs`. */
  snapshot(meter: string, kind: MeterKind, nowMs: number): EntitlementSnapshot {
    const entitlement = this.entitlementOf(meter);
    const window = this.windowAt(meter, nowMs);
    const usedE4 = this.usedE4(meter, kind, window);
    const headroom = this.headroom(meter, kind, window, nowMs);
    return {
      meter,
      kind,
      usedE4,
      heldE4: headroom.heldE4,
      grantedE4: headroom.grantedE4,
      limitE4: entitlement.limitE4,
      remainingE4: remainingOf(entitlement.limitE4, usedE4, headroom),
      enforcement: this.isEntitled(meter) ? entitlement.enforcement : null,
      period: entitlement.period,
      periodStart: window.start,
      periodEnd: window.end,
    };
  }

  /** The decision for `amountE4` more of a meter now, with its row. */
  decideNow(meter: string, kind: MeterKind, amountE4: number, nowMs: number): { decision: Decision; snapshot: EntitlementSnapshot } {
    const snapshot = this.snapshot(meter, kind, nowMs);
    const headroom = { heldE4: snapshot.heldE4, grantedE4: snapshot.grantedE4 };
    return { decision: decide(snapshot.usedE4, amountE4, this.entitlementOf(meter), headroom), snapshot };
  }

  /** Usage per meter and day (state, tests). */
  counters(): CounterSnapshot[] {
    return this.days.all().map((d) => ({
      meter: d.meter,
      periodStart: d.day * DAY_MS,
      periodEnd: (d.day + 1) * DAY_MS,
      totalE4: d.levelE4 ?? d.totalE4,
      eventCount: d.eventCount,
      peakE4: d.peakE4,
    }));
  }

  gaugeLevel(meter: string): number {
    return this.sql.exec<{ level_e4: number }>("SELECT level_e4 FROM gauges WHERE meter = ?", meter).toArray()[0]?.level_e4 ?? 0;
  }

  setGaugeLevel(meter: string, levelE4: number): void {
    this.sql.exec(
      "INSERT INTO gauges (meter, level_e4) VALUES (?, ?) ON CONFLICT (meter) DO UPDATE SET level_e4 = excluded.level_e4",
      meter,
      levelE4,
    );
  }

  gaugeMeters(): string[] {
    return this.sql
      .exec<{ meter: string }>("SELECT meter FROM gauges")
      .toArray()
      .map((r) => r.meter);
  }

  getMeta(key: string): string | null {
    return this.sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  deleteMeta(key: string): void {
    this.sql.exec("DELETE FROM ledger_meta WHERE key = ?", key);
  }

  setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }
}

export function newGrantId(): string {
  return `grt_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** The id of the last event created for a meter in a run of outcomes (what a balance.low names). */
function lastEventId(outcomes: RecordOutcome[], meter: string): string | null {
  for (let i = outcomes.length - 1; i >= 0; i -= 1) {
    const o = outcomes[i]!;
    if (o.status === "created" && o.event.meter === meter) return o.event.id;
  }
  return null;
}

/** A meter's kind from the catalogue passed in; unknown meters count as counters. */
export function kindOf(kinds: Record<string, MeterKind>, meter: string): MeterKind {
  return Object.hasOwn(kinds, meter) ? kinds[meter]! : "counter";
}

/** A new event; `seq` is the next number of the ledger's sequence (creation order). */
function newEvent(subjectId: string, input: LedgerEventInput, nowMs: number, seq: number): StoredEvent {
  return {
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    seq,
    subjectId,
    meter: input.meter,
    unit: input.unit,
    amountE4: input.amountE4,
    operation: input.operation,
    occurredAt: input.occurredAt,
    receivedAt: nowMs,
    source: input.source,
    idempotencyKey: input.idempotencyKey,
    dimensions: input.dimensions,
    metadata: input.metadata,
  };
}

/** The usage after an event: counters add; gauges add, remove (never below 0) or set. */
export function nextLevel(beforeE4: number, input: Pick<LedgerEventInput, "kind" | "operation" | "amountE4">): number {
  if (input.kind === "counter" || input.operation === "add") return beforeE4 + input.amountE4;
  if (input.operation === "remove") return Math.max(0, beforeE4 - input.amountE4);
  return input.amountE4;
}
