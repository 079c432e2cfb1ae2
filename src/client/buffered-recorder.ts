import type { BatchResult, UsageEventInput } from "./types.js";

export interface BufferedRecorderOptions {
  /** Flush when this many events wait (default 500, at most 1000). */
  maxBatch?: number;
  /** Flush at least this often while events wait (default 1000 ms). */
  flushIntervalMs?: number;
  /** Told about events the service rejected for good (unknown meter, …). */
  onRejected?: (rejected: { event: UsageEventInput; code: string; message: string }[]) => void;
  /** Told when a background flush fails (its events stay queued). */
  onError?: (error: unknown) => void;
}

/**
 * Collects events and sends them in batches. Each event gets its idempotency key when it is
 * queued, so a flush that fails is retried later with the same keys and never counts twice.
 */
export class BufferedRecorder {
  private queue: UsageEventInput[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly send: (events: UsageEventInput[]) => Promise<BatchResult>,
    private readonly options: BufferedRecorderOptions = {},
  ) {}

  record(event: UsageEventInput): void {
    if (this.closed) throw new Error("recorder is closed");
    const keyed =
      "subjectId" in event || "entitlementKey" in event
        ? { ...event, idempotencyKey: event.idempotencyKey ?? `client:${crypto.randomUUID()}` }
        : event;
    this.queue.push(keyed);
    if (this.queue.length >= this.maxBatch()) this.flushInBackground();
    else if (!this.timer) this.timer = setInterval(() => this.flushInBackground(), this.options.flushIntervalMs ?? 1000);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Sends everything queued so far; resolves when it is accepted (or rejects, keeping the events). */
  flush(): Promise<void> {
    this.flushing = this.flushing.catch(() => undefined).then(() => this.drain());
    return this.flushing;
  }

  /** Background flushes keep failed events queued and report the error; the next flush tries again. */
  private flushInBackground(): void {
    this.flush().catch((error: unknown) => this.options.onError?.(error));
  }

  /** Stops the timer and flushes what is left: call it on shutdown. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.maxBatch());
      const result = await this.send(batch); // on failure the events stay queued for the next flush
      // A ledger that did not answer is worth another try later, with the same key.
      const again = result.results.filter((r) => r.error?.code === "LEDGER_UNAVAILABLE").map((r) => batch[r.index]!);
      this.queue = [...again, ...this.queue.slice(batch.length)];
      const rejected = result.results.filter((r) => r.status === "rejected" && r.error?.code !== "LEDGER_UNAVAILABLE");
      if (rejected.length > 0) {
        this.options.onRejected?.(
          rejected.map((r) => ({ event: batch[r.index]!, code: r.error?.code ?? "REJECTED", message: r.error?.message ?? "" })),
        );
      }
      if (again.length > 0) throw new Error(`${again.length} events wait for their ledger; they stay queued`);
    }
    if (this.timer && this.queue.length === 0) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private maxBatch(): number {
    return Math.min(1000, Math.max(1, this.options.maxBatch ?? 500));
  }
}
