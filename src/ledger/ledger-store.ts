import {
  crossedThresholds,
  decide,
  UNLIMITED,
  type Decision,
  type Entitlement,
  type LedgerConfiguration,
  type SubjectConfig,
} from "../domain/entitlements";
import { periodContaining, type Period } from "../domain/periods";
import type { StoredEvent } from "../domain/stored-event";
import type { CounterSnapshot, LedgerEventInput, PeriodRow, RecordOutcome } from "./contract";
import { IdempotencyKeys, type HeldKey } from "./idempotency-keys";
import { migrateLedgerSchema } from "./ledger-schema";
import { periodsClosedNotification, thresholdNotification } from "./ledger-notifications";
import { Outbox } from "./outbox";

export type ApplyMode = "record" | "consume";

type CounterRow = {
  meter: string;
  period_start: number;
  period_end: number;
  total_e4: number;
  event_count: number;
  peak_e4: number;
  closed_at: number | null;
};

/**
 * The subject's SQLite storage: configuration, period counters, gauge levels and fired
 * thresholds, with its idempotency keys and its outbox to D1. Everything here is synchronous so
 * that one caller's transaction holds every check and write together.
 */
export class LedgerStore {
  readonly keys: IdempotencyKeys;
  readonly outbox: Outbox;
  /** Read on every event; storage stays the source of truth. */
  private cachedConfig: SubjectConfig | null = null;
  private boundSubject: string | null = null;

  constructor(private readonly sql: SqlStorage) {
    this.keys = new IdempotencyKeys(sql);
    this.outbox = new Outbox(sql);
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

  /** Keeps the pushed settings and the effective config derived from them. */
  setConfiguration(configuration: LedgerConfiguration, config: SubjectConfig): void {
    this.setMeta("configuration", JSON.stringify(configuration));
    this.setMeta("config", JSON.stringify(config));
    this.cachedConfig = config;
  }

  entitlementOf(meter: string): Entitlement {
    return this.config().entitlements[meter] ?? UNLIMITED;
  }

  periodOf(meter: string, atMs: number): Period {
    return periodContaining(atMs, this.entitlementOf(meter).period, this.config().billingAnchorDay ?? undefined);
  }

  /** The current usage that limits compare against: the period's total, or a gauge's level. */
  usedE4(meter: string, kind: "counter" | "gauge", period: Period): number {
    if (kind === "gauge") return this.gaugeLevel(meter);
    return (
      this.sql
        .exec<{ total_e4: number }>("SELECT total_e4 FROM counters WHERE meter = ? AND period_start = ?", meter, period.start)
        .toArray()[0]?.total_e4 ?? 0
    );
  }

  /**
   * Applies events in order, inside the caller's transaction. Runs of plain counter records (the
   * bulk of traffic) go through `recordCounters`, a few statements per run whatever its length;
   * consumes and gauge moves, which depend on what came before them, go one by one.
   */
  applyAll(subjectId: string, inputs: LedgerEventInput[], nowMs: number): RecordOutcome[] {
    const outcomes: RecordOutcome[] = [];
    let run: LedgerEventInput[] = [];
    const flushRun = () => {
      if (run.length > 0) outcomes.push(...this.recordCounters(subjectId, run, nowMs));
      run = [];
    };
    for (const input of inputs) {
      if ((input.mode ?? "record") === "record" && input.kind === "counter") {
        run.push(input);
        continue;
      }
      flushRun();
      outcomes.push(this.apply(subjectId, input, nowMs));
    }
    flushRun();
    return outcomes;
  }

  /** Checks the key, decides (consume), counts, fires thresholds and queues the event. Call inside a transaction. */
  apply(subjectId: string, input: LedgerEventInput, nowMs: number, mode: ApplyMode = input.mode ?? "record"): RecordOutcome {
    if (mode === "record" && input.kind === "counter") return this.recordCounters(subjectId, [input], nowMs)[0]!;
    const seen = this.replay(input);
    if (seen) return seen;

    const entitlement = this.entitlementOf(input.meter);
    const period = this.periodOf(input.meter, input.occurredAt);
    const before = this.usedE4(input.meter, input.kind, period);
    const after = nextLevel(before, input);
    let decision: Decision | undefined;
    if (mode === "consume") {
      decision = decide(before, after - before, entitlement);
      if (!decision.allowed) return { status: "denied", decision };
    }

    const event = newEvent(subjectId, input, nowMs);
    const row = this.count(input, period, after);
    // A late event for a period the rollover already closed sends the period's new totals to D1.
    if (row.closed_at !== null) this.enqueuePeriod(subjectId, row, row.closed_at, nowMs);
    this.fireThresholds(subjectId, input.meter, period, before, after, entitlement, event, nowMs);
    if (input.idempotencyKey !== null) this.keys.keep(input.idempotencyKey, input.fingerprint, { event, decision }, nowMs);
    this.outbox.append("event", JSON.stringify(event));
    return { status: "created", event, decision };
  }

  /**
   * Plain records on counters, set-based: one statement claims the new keys, one upsert per
   * (meter, period) counts, one statement queues the events. A key seen before, or repeated in the
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
    const events = candidates.map((i) => newEvent(subjectId, inputs[i]!, nowMs));
    const rows = JSON.stringify(events.map((e, k) => ({ f: inputs[candidates[k]!]!.fingerprint, e })));

    const claimed = firstWithKey.size > 0 ? this.keys.claimEach(rows, nowMs) : new Set<string>();
    const created = candidates.map((i) => inputs[i]!.idempotencyKey === null || claimed.has(inputs[i]!.idempotencyKey!));
    const createdEvents = events.filter((_, k) => created[k]);
    this.countRun(subjectId, createdEvents, nowMs);
    if (createdEvents.length > 0) {
      this.outbox.appendEach(
        "event",
        rows,
        "$.e",
        created.flatMap((yes, k) => (yes ? [] : [k])),
      );
    }

    const createdAt = new Map<number, StoredEvent>();
    candidates.forEach((i, k) => {
      if (created[k]) createdAt.set(i, events[k]!);
    });
    const kept = this.keys.heldEach(inputs.filter((_, i) => !createdAt.has(i)).map((input) => input.idempotencyKey!));
    return inputs.map((input, i) => {
      const event = createdAt.get(i);
      if (event) return { status: "created", event };
      // A replay: of an event created earlier in this run, or of one the key held before.
      const first = firstWithKey.get(input.idempotencyKey!)!;
      const earlier = createdAt.get(first);
      const held: HeldKey = earlier ? { fingerprint: inputs[first]!.fingerprint, event: earlier } : kept.get(input.idempotencyKey!)!;
      return { status: held.fingerprint === input.fingerprint ? "duplicate" : "conflict", event: held.event, decision: held.decision };
    });
  }

  /** Counts created counter events: one upsert per (meter, period), then the thresholds each event crossed. */
  private countRun(subjectId: string, events: StoredEvent[], nowMs: number): void {
    const groups = new Map<string, { meter: string; period: Period; events: StoredEvent[] }>();
    for (const event of events) {
      const period = this.periodOf(event.meter, event.occurredAt);
      const id = `${event.meter}\u0000${period.start}`;
      const group = groups.get(id) ?? { meter: event.meter, period, events: [] };
      group.events.push(event);
      groups.set(id, group);
    }
    for (const { meter, period, events: grouped } of groups.values()) {
      const sum = grouped.reduce((s, e) => s + e.amountE4, 0);
      const peak = grouped.reduce((m, e) => Math.max(m, e.amountE4), 0);
      const row = this.sql
        .exec<CounterRow>(
          `INSERT INTO counters (meter, period_start, period_end, total_e4, event_count, peak_e4) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (meter, period_start) DO UPDATE SET total_e4 = total_e4 + excluded.total_e4,
             event_count = event_count + excluded.event_count, peak_e4 = max(peak_e4, excluded.peak_e4)
           RETURNING *`,
          meter,
          period.start,
          period.end,
          sum,
          grouped.length,
          peak,
        )
        .one();
      if (row.closed_at !== null) this.enqueuePeriod(subjectId, row, row.closed_at, nowMs, "counter");
      const entitlement = this.entitlementOf(meter);
      if (entitlement.limitE4 === null) continue;
      let level = row.total_e4 - sum;
      for (const event of grouped) {
        this.fireThresholds(subjectId, meter, period, level, level + event.amountE4, entitlement, event, nowMs);
        level += event.amountE4;
      }
    }
  }

  /** What a key already stands for: the same event (duplicate) or another one (conflict); null when new. */
  private replay(input: LedgerEventInput): RecordOutcome | null {
    if (input.idempotencyKey === null) return null;
    const held = this.keys.held(input.idempotencyKey);
    if (!held) return null;
    return { status: held.fingerprint === input.fingerprint ? "duplicate" : "conflict", event: held.event, decision: held.decision };
  }

  /** Moves the gauge and the period's row; answers the row as it is now. */
  private count(input: LedgerEventInput, period: Period, after: number): CounterRow {
    const isGauge = input.kind === "gauge";
    if (isGauge) {
      this.sql.exec(
        "INSERT INTO gauges (meter, level_e4) VALUES (?, ?) ON CONFLICT (meter) DO UPDATE SET level_e4 = excluded.level_e4",
        input.meter,
        after,
      );
    }
    // A gauge's period row holds its level at the end (total) and its peak; a counter's, its sum.
    return this.sql
      .exec<CounterRow>(
        `INSERT INTO counters (meter, period_start, period_end, total_e4, event_count, peak_e4) VALUES (?, ?, ?, ?, 1, ?)
         ON CONFLICT (meter, period_start) DO UPDATE SET
           total_e4 = CASE WHEN ?6 THEN excluded.total_e4 ELSE total_e4 + excluded.total_e4 END,
           event_count = event_count + 1,
           peak_e4 = max(peak_e4, excluded.peak_e4)
         RETURNING *`,
        input.meter,
        period.start,
        period.end,
        isGauge ? after : input.amountE4,
        isGauge ? after : input.amountE4,
        isGauge ? 1 : 0,
      )
      .one();
  }

  private fireThresholds(
    subjectId: string,
    meter: string,
    period: Period,
    before: number,
    after: number,
    entitlement: Entitlement,
    event: StoredEvent,
    nowMs: number,
  ): void {
    for (const threshold of crossedThresholds(before, after, entitlement)) {
      const fired = this.sql.exec(
        "INSERT INTO fired_thresholds (meter, period_start, threshold) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        meter,
        period.start,
        threshold,
      ).rowsWritten;
      if (fired === 0) continue;
      const notification = thresholdNotification({
        subjectId,
        meter,
        period,
        threshold,
        usedE4: after,
        entitlement,
        eventId: event.id,
        nowMs,
      });
      this.outbox.append("notification", JSON.stringify(notification));
    }
  }

  /**
   * Closes every period that ended by `asOfMs`, and writes a row for each entitled or gauge meter
   * that saw no traffic in the period before `asOfMs` (idle subjects are closed too). Periods
   * closed before are left alone, so running it again changes nothing.
   */
  closePeriods(subjectId: string, asOfMs: number, kinds: Record<string, "counter" | "gauge">, nowMs: number): PeriodRow[] {
    const idleMeters = new Set([...Object.keys(this.config().entitlements), ...this.gaugeMeters()]);
    for (const meter of idleMeters) {
      const period = this.periodOf(meter, asOfMs - 1);
      if (period.end > asOfMs || this.counterRow(meter, period.start)) continue;
      const level = (kinds[meter] ?? "counter") === "gauge" ? this.gaugeLevel(meter) : 0;
      this.sql.exec(
        "INSERT INTO counters (meter, period_start, period_end, total_e4, event_count, peak_e4) VALUES (?, ?, ?, ?, 0, ?)",
        meter,
        period.start,
        period.end,
        level,
        level,
      );
    }
    const open = this.sql
      .exec<CounterRow>("SELECT * FROM counters WHERE closed_at IS NULL AND period_end <= ? ORDER BY meter, period_start", asOfMs)
      .toArray();
    const closed = open.map((row) => {
      this.sql.exec("UPDATE counters SET closed_at = ? WHERE meter = ? AND period_start = ?", nowMs, row.meter, row.period_start);
      return this.enqueuePeriod(subjectId, { ...row, closed_at: nowMs }, nowMs, null, kinds[row.meter] ?? "counter");
    });
    if (closed.length > 0) this.outbox.append("notification", JSON.stringify(periodsClosedNotification(subjectId, closed, nowMs)));
    return closed;
  }

  private counterRow(meter: string, periodStart: number): CounterRow | undefined {
    return this.sql.exec<CounterRow>("SELECT * FROM counters WHERE meter = ? AND period_start = ?", meter, periodStart).toArray()[0];
  }

  private enqueuePeriod(
    subjectId: string,
    row: CounterRow,
    closedAt: number,
    restatedAt: number | null,
    kind: "counter" | "gauge" = this.gaugeMeters().includes(row.meter) ? "gauge" : "counter",
  ): PeriodRow {
    const limitE4 = this.entitlementOf(row.meter).limitE4;
    const period: PeriodRow = {
      subjectId,
      meter: row.meter,
      periodStart: row.period_start,
      periodEnd: row.period_end,
      totalE4: row.total_e4,
      eventCount: row.event_count,
      limitE4,
      endValueE4: kind === "gauge" ? row.total_e4 : null,
      peakE4: kind === "gauge" ? row.peak_e4 : null,
      closedAt,
      restatedAt,
    };
    this.outbox.append("period", JSON.stringify(period));
    return period;
  }

  counters(): CounterSnapshot[] {
    return this.sql
      .exec<{ meter: string; period_start: number; period_end: number; total_e4: number; event_count: number; peak_e4: number }>(
        "SELECT meter, period_start, period_end, total_e4, event_count, peak_e4 FROM counters ORDER BY meter, period_start",
      )
      .toArray()
      .map((r) => ({
        meter: r.meter,
        periodStart: r.period_start,
        periodEnd: r.period_end,
        totalE4: r.total_e4,
        eventCount: r.event_count,
        peakE4: r.peak_e4,
      }));
  }

  gaugeLevel(meter: string): number {
    return this.sql.exec<{ level_e4: number }>("SELECT level_e4 FROM gauges WHERE meter = ?", meter).toArray()[0]?.level_e4 ?? 0;
  }

  gaugeMeters(): string[] {
    return this.sql
      .exec<{ meter: string }>("SELECT meter FROM gauges")
      .toArray()
      .map((r) => r.meter);
  }

  /** Replaces one period's counter (recalculation); a gauge's level too when given. */
  restate(meter: string, period: Period, totalE4: number, eventCount: number, gaugeLevelE4?: number): void {
    this.sql.exec(
      `INSERT INTO counters (meter, period_start, period_end, total_e4, event_count, peak_e4) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (meter, period_start) DO UPDATE SET total_e4 = excluded.total_e4, event_count = excluded.event_count,
         peak_e4 = max(peak_e4, excluded.peak_e4)`,
      meter,
      period.start,
      period.end,
      totalE4,
      eventCount,
      totalE4,
    );
    if (gaugeLevelE4 !== undefined) {
      this.sql.exec(
        "INSERT INTO gauges (meter, level_e4) VALUES (?, ?) ON CONFLICT (meter) DO UPDATE SET level_e4 = excluded.level_e4",
        meter,
        gaugeLevelE4,
      );
    }
  }

  getMeta(key: string): string | null {
    return this.sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }
}

function newEvent(subjectId: string, input: LedgerEventInput, nowMs: number): StoredEvent {
  return {
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
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
