import { DurableObject } from "cloudflare:workers";
import { decide, mergeConfiguration, type Decision, type LedgerConfiguration, type SubjectConfig } from "../domain/entitlements";
import type { MeterKind } from "../domain/event-rules";
import { log } from "../http/log";
import type {
  EntitlementSnapshot,
  LedgerEventInput,
  LedgerRpc,
  LedgerState,
  PeriodRow,
  RecalculationSummary,
  RecordOutcome,
} from "./contract";
import { flushOutbox } from "./history-flush";
import { LedgerStore } from "./ledger-store";
import { currentHistoryTotals } from "./recalculation";

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

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LedgerStore(ctx.storage.sql);
    this.store.migrate();
  }

  async record(subjectId: string, events: LedgerEventInput[]): Promise<RecordOutcome[]> {
    const now = Date.now();
    const outcomes = this.ctx.storage.transactionSync(() => {
      this.store.claimSubject(subjectId);
      return this.store.applyAll(subjectId, events, now);
    });
    if (outcomes.some((o) => o.status === "created")) await this.scheduleFlush(now + FLUSH_DELAY_MS);
    return outcomes;
  }

  async consume(subjectId: string, event: LedgerEventInput): Promise<RecordOutcome> {
    const [outcome] = await this.record(subjectId, [{ ...event, mode: "consume" }]);
    return outcome!;
  }

  async check(subjectId: string, meter: string, kind: MeterKind, amountE4: number): Promise<EntitlementSnapshot & { decision: Decision }> {
    this.assertSubject(subjectId);
    const snapshot = this.snapshot(meter, kind, Date.now());
    return { ...snapshot, decision: decide(snapshot.usedE4, amountE4, this.store.entitlementOf(meter)) };
  }

  async configure(subjectId: string, update: Partial<LedgerConfiguration>): Promise<SubjectConfig> {
    return this.ctx.storage.transactionSync(() => {
      this.store.claimSubject(subjectId);
      const { configuration, config } = mergeConfiguration(this.store.configuration(), update);
      this.store.setConfiguration(configuration, config);
      return config;
    });
  }

  async entitlements(subjectId: string, kinds: Record<string, MeterKind>): Promise<EntitlementSnapshot[]> {
    this.assertSubject(subjectId);
    const now = Date.now();
    const meters = new Set([
      ...Object.keys(this.store.config().entitlements),
      ...this.store
        .counters()
        .filter((c) => c.periodStart <= now && now < c.periodEnd)
        .map((c) => c.meter),
      ...this.store.gaugeMeters(),
    ]);
    return [...meters].sort().map((meter) => this.snapshot(meter, kinds[meter] ?? "counter", now));
  }

  /**
   * Rebuilds current-period counters from D1 history. Other calls wait meanwhile: events arriving
   * between the history read and the restatement would otherwise be counted twice or not at all.
   */
  async recalculate(subjectId: string, kinds: Record<string, MeterKind>): Promise<RecalculationSummary> {
    return this.ctx.blockConcurrencyWhile(async () => {
      this.store.claimSubject(subjectId);
      while ((await flushOutbox(this.store.outbox, this.env)).remaining > 0) {
        // drain the outbox so history holds every event this ledger counted
      }
      const now = Date.now();
      const counted = this.store
        .counters()
        .filter((c) => c.periodStart <= now && now < c.periodEnd)
        .map((c) => c.meter);
      const history = await currentHistoryTotals(this.env.DB, subjectId, kinds, (meter) => this.store.periodOf(meter, now), [
        ...counted,
        ...this.store.gaugeMeters(),
      ]);
      return this.ctx.storage.transactionSync(() => ({
        meters: history.map((h) => {
          const period = this.store.periodOf(h.meter, now);
          const beforeE4 = this.store.usedE4(h.meter, h.kind, period);
          this.store.restate(h.meter, period, h.totalE4, h.eventCount, h.levelE4);
          return { meter: h.meter, periodStart: period.start, beforeE4, afterE4: this.store.usedE4(h.meter, h.kind, period) };
        }),
      }));
    });
  }

  async closePeriods(subjectId: string, asOfMs: number, kinds: Record<string, MeterKind>): Promise<PeriodRow[]> {
    const now = Date.now();
    const closed = this.ctx.storage.transactionSync(() => {
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
      this.store.keys.purge(Date.now());
      const { remaining } = await flushOutbox(this.store.outbox, this.env);
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
    const expiry = this.store.keys.nextExpiry();
    this.alarmAt = next ?? (expiry === null ? null : Math.max(expiry, Date.now() + 1000));
    if (this.alarmAt !== null) await this.ctx.storage.setAlarm(this.alarmAt);
  }

  private snapshot(meter: string, kind: MeterKind, now: number): EntitlementSnapshot {
    const entitlement = this.store.config().entitlements[meter];
    const period = this.store.periodOf(meter, now);
    const usedE4 = this.store.usedE4(meter, kind, period);
    const limitE4 = entitlement?.limitE4 ?? null;
    return {
      meter,
      kind,
      usedE4,
      limitE4,
      remainingE4: limitE4 === null ? null : Math.max(0, limitE4 - usedE4),
      enforcement: entitlement?.enforcement ?? null,
      period: entitlement?.period ?? "month",
      periodStart: period.start,
      periodEnd: period.end,
    };
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
    // A running flush re-arms the alarm itself for whatever is written meanwhile.
    if (this.flushing) return;
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}
