import { DurableObject } from "cloudflare:workers";
import { log } from "../http/log";
import type { LedgerEventInput, LedgerRpc, LedgerState, RecordOutcome } from "./contract";
import { flushOutbox } from "./history-flush";
import { LedgerStore } from "./ledger-store";

/** Events wait this long so that a burst reaches D1 in one flush (history lags < 2 s). */
const FLUSH_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 60_000;

/**
 * The single writer for one subject (user or organisation). Every mutation runs in one
 * synchronous storage transaction, and the output gate holds the reply until it is durable.
 */
export class SubjectLedger extends DurableObject<Env> implements LedgerRpc {
  private readonly store: LedgerStore;
  private flushScheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LedgerStore(ctx.storage.sql);
    this.store.migrate();
  }

  async record(subjectId: string, events: LedgerEventInput[]): Promise<RecordOutcome[]> {
    const now = Date.now();
    const outcomes = this.ctx.storage.transactionSync(() => {
      this.store.claimSubject(subjectId);
      return events.map((event) => this.store.apply(subjectId, event, now));
    });
    if (outcomes.some((o) => o.status === "created")) await this.scheduleFlush(now + FLUSH_DELAY_MS);
    return outcomes;
  }

  async state(): Promise<LedgerState> {
    return {
      subjectId: this.store.subjectId(),
      counters: this.store.counters(),
      outboxSize: this.store.outboxSize(),
      idempotencyKeys: this.store.idempotencyKeyCount(),
    };
  }

  override async alarm(): Promise<void> {
    this.flushScheduled = false;
    const now = Date.now();
    this.store.purgeIdempotencyKeys(now);
    try {
      const { remaining } = await flushOutbox(this.store, this.env.DB);
      this.store.setMeta("flush_failures", "0");
      if (remaining > 0) return this.scheduleFlush(Date.now() + FLUSH_DELAY_MS);
    } catch (error) {
      // Never let the alarm throw: the platform gives up after six retries, and the events must not wait for the next write.
      const failures = Number(this.store.getMeta("flush_failures") ?? "0") + 1;
      this.store.setMeta("flush_failures", String(failures));
      const delay = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** Math.min(failures - 1, 6));
      log("error", "ledger.flush_failed", { subjectId: this.store.subjectId(), failures, retryInMs: delay, error: String(error) });
      return this.scheduleFlush(Date.now() + delay);
    }
    // Wake again to purge idempotency keys, unless a write already asked for an earlier flush.
    const expiry = this.store.nextKeyExpiry();
    if (expiry !== null && (await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Math.max(expiry, Date.now() + 1000));
    }
  }

  private async scheduleFlush(at: number): Promise<void> {
    if (this.flushScheduled) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
    this.flushScheduled = true;
  }
}
