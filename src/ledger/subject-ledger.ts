import { DurableObject } from "cloudflare:workers";
import type { Decision, LedgerConfiguration, SubjectConfig } from "../domain/entitlements";
import type { MeterKind } from "../domain/event-rules";
import type { StoredEvent } from "../domain/stored-event";
import { log } from "../http/log";
import type {
  AmendOutcome,
  CommitInput,
  CommitOutcome,
  EntitlementSnapshot,
  Grant,
  GrantInput,
  GrantOutcome,
  GrantQuery,
  LedgerEventInput,
  LedgerRpc,
  LedgerState,
  PeriodRow,
  RecalculationSummary,
  RecordOutcome,
  ReleaseOutcome,
  Reservation,
  ReservationInput,
  ReservationQuery,
  ReserveOutcome,
  VoidGrantOutcome,
  VoidOutcome,
  VoidTarget,
} from "./contract";
import { MAX_EVENT_AGE_MS } from "../domain/event-rules";
import { dayOf } from "../domain/usage-window";
import { historyStore } from "../history/history-store";
import { createGrant, voidGrant } from "./grant-operations";
import { flushOutbox } from "./history-flush";
import { commit, release, reserve } from "./holds";
import { kindOf, LedgerStore } from "./ledger-store";
import { RowsWrittenMeter } from "./ledger-metrics";
import { rebuildDays } from "./recalculation";
import { publicReservation, RESOLVED_RESERVATION_RETENTION_MS } from "./reservations";

/** The first day a late event can still land on, with a day's margin. */
function lateWindowStartDay(nowMs: number): number {
  return dayOf(nowMs - MAX_EVENT_AGE_MS) - 1;
}

/** Events wait this long so that a burst reaches D1 in one flush (history lags < 2 s). */
const FLUSH_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 60_000;

/**
 * The single writer for one subject (user or organisation). Every mutation runs in one
 * synchronous storage transaction, and the output gate holds the reply until it is durable.
 */
export class SubjectLedger extends DurableObject<Env> implements LedgerRpc {
  private readonly store: LedgerStore;
  /** When the alarm will ring, as this instance last set or read it; undefined until known. */
  private alarmAt: number | null | undefined;
  private failedFlushes: number | undefined;
  private flushing = false;
  /** Counts rows written when METRICS_LOG is "true"; null otherwise. */
  private readonly metrics: RowsWrittenMeter | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.metrics = env.METRICS_LOG === "true" ? new RowsWrittenMeter() : null;
    this.store = new LedgerStore(this.metrics ? this.metrics.wrap(ctx.storage.sql) : ctx.storage.sql);
    this.store.migrate();
    this.metrics?.take();
    void ctx.blockConcurrencyWhile(() => this.rearmAfterRestart());
  }

  /**
   * A write commits before its alarm is set: a crash between the two would leave outbox entries
   * (or holds) with no alarm, and a retried call answered as a replay sets none. So a new
   * instance arms the alarm when something is waiting and none is set.
   */
  private async rearmAfterRestart(): Promise<void> {
    const expiry = this.store.reservations.nextExpiry();
    const waiting = this.store.outbox.size() > 0 ? Date.now() + FLUSH_DELAY_MS : null;
    const due = [waiting, expiry].filter((t): t is number => t !== null);
    if (due.length === 0) return;
    this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null) await this.scheduleAlarm(Math.min(...due));
  }

  /**
   * One storage transaction; with METRICS_LOG on, logs the events it created and the rows its
   * statements wrote (with any written outside a transaction since the last line).
   */
  private transact<T>(work: () => T): T {
    const metrics = this.metrics;
    const eventsBefore = metrics === null ? 0 : this.store.outbox.eventsAppended();
    try {
      const result = this.ctx.storage.transactionSync(work);
      if (metrics !== null) this.logRowsWritten(this.store.outbox.eventsAppended() - eventsBefore);
      return result;
    } catch (error) {
      // Rolled back: nothing it wrote stands, and no replay of it is owed.
      metrics?.take();
      this.store.takeUnresolved();
      throw error;
    }
  }

  async record(subjectId: string, events: LedgerEventInput[]): Promise<RecordOutcome[]> {
    const now = Date.now();
    const outcomes = this.transact(() => {
      this.store.claimSubject(subjectId);
      return this.store.applyAll(subjectId, events, now);
    });
    const replays = this.store.takeUnresolved();
    if (outcomes.some((o) => o.status === "created")) await this.scheduleFlush(now + FLUSH_DELAY_MS);
    await this.resolveReplays(replays);
    return outcomes;
  }

  async consume(subjectId: string, event: LedgerEventInput): Promise<RecordOutcome> {
    const [outcome] = await this.record(subjectId, [{ ...event, mode: "consume" }]);
    return outcome!;
  }

  async check(subjectId: string, meter: string, kind: MeterKind, amountE4: number): Promise<EntitlementSnapshot & { decision: Decision }> {
    this.assertSubject(subjectId);
    const now = Date.now();
    await this.settle(now);
    const { decision, snapshot } = this.store.decideNow(meter, kind, amountE4, now);
    return { ...snapshot, decision };
  }

  async reserve(subjectId: string, input: ReservationInput): Promise<ReserveOutcome> {
    const now = Date.now();
    const generation = this.store.outbox.generation();
    const outcome = this.transact(() => {
      this.store.claimSubject(subjectId);
      return reserve(this.store, subjectId, input, now);
    });
    if (outcome.status === "created") await this.scheduleAlarm(outcome.reservation.expiresAt);
    if (this.store.outbox.generation() !== generation) await this.scheduleFlush(now + FLUSH_DELAY_MS);
    return outcome;
  }

  async commitReservation(subjectId: string, reservationId: string, input: CommitInput): Promise<CommitOutcome> {
    return this.writeCredits(subjectId, (now) => commit(this.store, subjectId, reservationId, input, now));
  }

  async releaseReservation(subjectId: string, reservationId: string): Promise<ReleaseOutcome> {
    return this.writeCredits(subjectId, (now) => release(this.store, subjectId, reservationId, now));
  }

  async reservations(subjectId: string, query: ReservationQuery): Promise<Reservation[]> {
    this.assertSubject(subjectId);
    const now = Date.now();
    await this.settle(now);
    return this.store.reservations.list(query, now);
  }

  async reservation(subjectId: string, reservationId: string): Promise<Reservation | null> {
    this.assertSubject(subjectId);
    const now = Date.now();
    await this.settle(now);
    const found = this.store.reservations.find(reservationId);
    return found ? publicReservation(found, now) : null;
  }

  async grant(subjectId: string, input: GrantInput): Promise<GrantOutcome> {
    return this.writeCredits(subjectId, (now) => createGrant(this.store, subjectId, input, now));
  }

  async grants(subjectId: string, query: GrantQuery): Promise<Grant[]> {
    this.assertSubject(subjectId);
    const now = Date.now();
    await this.settle(now);
    return this.store.grants.list(query, now);
  }

  async voidGrant(subjectId: string, grantId: string): Promise<VoidGrantOutcome> {
    return this.writeCredits(subjectId, (now) => voidGrant(this.store, subjectId, grantId, now));
  }

  /** One hold or grant change in a transaction; flushes what it wrote to the outbox. */
  private async writeCredits<T>(subjectId: string, work: (nowMs: number) => T): Promise<T> {
    const now = Date.now();
    const generation = this.store.outbox.generation();
    const result = this.transact(() => {
      this.store.claimSubject(subjectId);
      return work(now);
    });
    const replays = this.store.takeUnresolved();
    if (this.store.outbox.generation() !== generation) await this.scheduleFlush(now + FLUSH_DELAY_MS);
    await this.resolveReplays(replays);
    return result;
  }

  /**
   * Fills in, from D1 history, the events that replays of a transaction stand for and that have
   * left the outbox: one query for all of them. Rows leave the outbox only once D1 holds them.
   * `unresolved` is taken right after the transaction, before any await lets another call in.
   */
  private async resolveReplays(unresolved: Map<string, StoredEvent>): Promise<void> {
    if (unresolved.size === 0) return;
    const found = await historyStore(this.env).findLedgerEvents([...unresolved.keys()]);
    for (const event of found) Object.assign(unresolved.get(event.id)!, event);
    if (found.length < unresolved.size) throw new Error("a replayed event is neither in the outbox nor in history");
  }

  /**
   * Reads see time-driven state brought up to now (holds past their time expired, plan grants of
   * the current periods given): a read may be the first call after either.
   */
  private async settle(nowMs: number): Promise<void> {
    if (this.store.subjectId() === null) return;
    const generation = this.store.outbox.generation();
    this.transact(() => this.store.settle(nowMs));
    if (this.store.outbox.generation() !== generation) await this.scheduleFlush(nowMs + FLUSH_DELAY_MS);
  }

  async configure(subjectId: string, update: Partial<LedgerConfiguration>): Promise<SubjectConfig> {
    const now = Date.now();
    const generation = this.store.outbox.generation();
    const config = this.transact(() => {
      this.store.claimSubject(subjectId);
      return this.store.configure(subjectId, update, now);
    });
    if (this.store.outbox.generation() !== generation) await this.scheduleFlush(now + FLUSH_DELAY_MS);
    return config;
  }

  async entitlements(subjectId: string, kinds: Record<string, MeterKind>): Promise<EntitlementSnapshot[]> {
    this.assertSubject(subjectId);
    const now = Date.now();
    await this.settle(now);
    const meters = new Set([
      ...Object.keys(this.store.config().entitlements),
      ...this.store.days.meters().filter((meter) => this.store.days.sum(meter, this.store.windowAt(meter, now)).eventCount > 0),
      ...this.store.gaugeMeters(),
    ]);
    return [...meters].sort().map((meter) => this.store.snapshot(meter, kindOf(kinds, meter), now));
  }

  /**
   * Rebuilds the ledger's days from D1 history: the late-event window (every day after an upgrade
   * from per-period counters), and gauge levels from every move. Other calls wait meanwhile:
   * events arriving between the history read and the rebuild would be counted twice or not at all.
   */
  async recalculate(subjectId: string, kinds: Record<string, MeterKind>): Promise<RecalculationSummary> {
    return this.exclusively(async () => {
      this.store.claimSubject(subjectId);
      await this.drainOutbox();
      const now = Date.now();
      const fromDay = this.store.getMeta("rebuild_all_days") === null ? lateWindowStartDay(now) : null;
      const gauges = [...new Set([...Object.keys(kinds).filter((m) => kinds[m] === "gauge"), ...this.store.gaugeMeters()])];
      const recorded = historyStore(this.env);
      const [counters, moves] = await Promise.all([
        recorded.counterDays(subjectId, gauges, fromDay),
        recorded.gaugeMoves(subjectId, gauges),
      ]);
      const rebuilt = new Map(rebuildDays(counters, moves, fromDay).map((m) => [m.meter, m]));
      const summary = this.transact(() => ({
        meters: [...new Set([...rebuilt.keys(), ...this.store.days.meters()])].sort().map((meter) => {
          const history = rebuilt.get(meter) ?? { meter, kind: kindOf(kinds, meter), days: [], levelE4: 0 };
          const window = this.store.windowAt(meter, now);
          const beforeE4 = this.store.usedE4(meter, history.kind, window);
          this.store.rebuildMeter(subjectId, history, fromDay, now);
          return { meter, periodStart: window.start, beforeE4, afterE4: this.store.usedE4(meter, history.kind, window) };
        }),
      }));
      this.transact(() => this.store.deleteMeta("rebuild_all_days"));
      if (this.store.outbox.size() > 0) await this.scheduleFlush(Date.now() + FLUSH_DELAY_MS);
      return summary;
    });
  }

  /**
   * Voids an event of this subject, once. A voided gauge move is undone by rebuilding the gauge
   * from history once the void has reached D1.
   */
  async voidEvent(subjectId: string, target: VoidTarget, reason: string | null): Promise<VoidOutcome> {
    const now = Date.now();
    const outcome = this.transact(() => {
      this.store.claimSubject(subjectId);
      return this.store.voidEvent(subjectId, target, reason, now);
    });
    if (outcome.rebuildGauge) await this.rebuildGauges(subjectId, [target.meter]);
    if (outcome.status === "voided") await this.scheduleFlush(now + FLUSH_DELAY_MS);
    return outcome;
  }

  /**
   * Voids an event and records its replacement in one transaction. The replacement's key
   * (`amend:<id>`) makes it idempotent: the same amendment again answers the same result; a
   * different one for the same event is a conflict.
   */
  async amend(subjectId: string, target: VoidTarget, replacement: LedgerEventInput, reason: string | null): Promise<AmendOutcome> {
    const now = Date.now();
    const outcome = this.transact((): AmendOutcome & { rebuild: boolean } => {
      this.store.claimSubject(subjectId);
      const held = this.store.keys.held(replacement.idempotencyKey!);
      if (held) {
        const event = this.store.eventsOf([held]).get(held.eventId)!;
        const voided = this.store.voidOf(target.id);
        if (held.fingerprint !== replacement.fingerprint || voided === null) return { status: "conflict", event, rebuild: false };
        return { status: "duplicate", voided, event, rebuild: false };
      }
      const voided = this.store.voidEvent(subjectId, target, reason, now);
      const [recorded] = this.store.applyAll(subjectId, [{ ...replacement, mode: "record" }], now);
      if (recorded?.status !== "created") throw new Error(`amend replacement was ${recorded?.status}`);
      return {
        status: "created",
        voided: { voidedAt: voided.voidedAt, reason: voided.reason },
        event: recorded.event,
        rebuild: voided.rebuildGauge || replacement.kind === "gauge",
      };
    });
    const replays = this.store.takeUnresolved();
    const gauges = [target, replacement].filter((e) => e.kind === "gauge").map((e) => e.meter);
    if (outcome.rebuild) await this.rebuildGauges(subjectId, [...new Set(gauges)]);
    if (outcome.status === "created") await this.scheduleFlush(now + FLUSH_DELAY_MS);
    await this.resolveReplays(replays);
    const { rebuild: _rebuild, ...answer } = outcome;
    return answer;
  }

  /** Gauges rebuilt from every move history holds (voids excluded), once the outbox has reached D1. */
  private async rebuildGauges(subjectId: string, meters: string[]): Promise<void> {
    await this.exclusively(async () => {
      await this.drainOutbox();
      const now = Date.now();
      const fromDay = lateWindowStartDay(now);
      const rebuilt = new Map(
        rebuildDays([], await historyStore(this.env).gaugeMoves(subjectId, meters), fromDay).map((m) => [m.meter, m]),
      );
      this.transact(() => {
        for (const meter of meters) {
          this.store.rebuildMeter(subjectId, rebuilt.get(meter) ?? { meter, kind: "gauge", days: [], levelE4: 0 }, fromDay, now);
        }
      });
    });
  }

  /**
   * Runs `work` with every other call held back. A failure is handed to the caller instead of
   * thrown inside blockConcurrencyWhile, which would reset the object for a D1 hiccup.
   */
  private async exclusively<T>(work: () => Promise<T>): Promise<T> {
    let failure: { error: unknown } | null = null;
    const result = await this.ctx.blockConcurrencyWhile(async () => {
      try {
        return await work();
      } catch (error) {
        failure = { error };
        return undefined;
      }
    });
    if (failure !== null) throw (failure as { error: unknown }).error;
    return result as T;
  }

  /** Flushes until history holds every event this ledger counted. */
  private async drainOutbox(): Promise<void> {
    while ((await flushOutbox(this.store.outbox, this.store.subjectId(), this.env)).remaining > 0) {
      // each round moves up to a few thousand entries
    }
  }

  async closePeriods(subjectId: string, asOfMs: number, kinds: Record<string, MeterKind>): Promise<PeriodRow[]> {
    const now = Date.now();
    const closed = this.transact(() => {
      this.store.claimSubject(subjectId);
      return this.store.closePeriods(subjectId, asOfMs, kinds, now);
    });
    if (closed.length > 0) await this.scheduleFlush(now + FLUSH_DELAY_MS);
    return closed;
  }

  async state(): Promise<LedgerState> {
    return {
      subjectId: this.store.subjectId(),
      config: this.store.config(),
      counters: this.store.counters(),
      gauges: Object.fromEntries(this.store.gaugeMeters().map((m) => [m, this.store.gaugeLevel(m)])),
      outboxSize: this.store.outbox.size(),
      idempotencyKeys: this.store.keys.count(),
    };
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.flushing = true;
    let next: number | null = null;
    try {
      const now = Date.now();
      this.store.keys.purge(now);
      const subjectId = this.store.subjectId();
      if (subjectId !== null) {
        this.transact(() => {
          this.store.settle(now);
          this.store.reservations.purge(now - RESOLVED_RESERVATION_RETENTION_MS);
        });
      }
      const { remaining } = await flushOutbox(this.store.outbox, this.store.subjectId(), this.env);
      if (this.flushFailures() > 0) this.setFlushFailures(0);
      if (remaining > 0) next = Date.now() + FLUSH_DELAY_MS;
    } catch (error) {
      // Never let the alarm throw: the platform gives up after six retries, and the events must not wait for the next write.
      const failures = this.flushFailures() + 1;
      this.setFlushFailures(failures);
      const delay = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** Math.min(failures - 1, 6));
      log("error", "ledger.flush_failed", { subjectId: this.store.subjectId(), failures, retryInMs: delay, error: String(error) });
      next = Date.now() + delay;
    } finally {
      this.flushing = false;
    }
    // Entries written while this flush ran are counted in `remaining`: re-arm for them here;
    // otherwise wake again to purge idempotency keys.
    // Otherwise wake for the next hold to expire, or to purge idempotency keys.
    const keyExpiry = this.store.keys.nextExpiry();
    const wakes = [next, this.store.reservations.nextExpiry(), keyExpiry === null ? null : Math.max(keyExpiry, Date.now() + 1000)];
    const due = wakes.filter((w): w is number => w !== null);
    this.logRowsWritten(0);
    this.alarmAt = due.length === 0 ? null : Math.min(...due);
    if (this.alarmAt !== null) await this.ctx.storage.setAlarm(this.alarmAt);
  }

  /** With METRICS_LOG on, logs rows written outside a transaction (the flush's outbox removal). */
  private logRowsWritten(events: number): void {
    const rowsWritten = this.metrics?.take() ?? 0;
    if (rowsWritten > 0) log("info", "metrics.ledger_call", { events, rowsWritten });
  }

  /** Reads must not bind an unused object to a subject, but must not answer for another one either. */
  private assertSubject(subjectId: string): void {
    const bound = this.store.subjectId();
    if (bound !== null && bound !== subjectId) throw new Error(`ledger of '${bound}' was asked about '${subjectId}'`);
  }

  /** Consecutive failed flushes (kept in storage for the backoff, read once per instance). */
  private flushFailures(): number {
    this.failedFlushes ??= Number(this.store.getMeta("flush_failures") ?? "0");
    return this.failedFlushes;
  }

  private setFlushFailures(failures: number): void {
    this.store.setMeta("flush_failures", String(failures));
    this.failedFlushes = failures;
  }

  private async scheduleFlush(at: number): Promise<void> {
    await this.scheduleAlarm(at);
  }

  /** Makes the alarm ring by `at` (it does everything due: flush, expiry of holds, key purge). */
  private async scheduleAlarm(at: number): Promise<void> {
    // A running flush re-arms the alarm itself for whatever is written meanwhile.
    if (this.flushing) return;
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}
