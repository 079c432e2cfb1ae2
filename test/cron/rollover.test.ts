import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { periodContaining } from "../../src/domain/periods";
import { ledgerFor } from "../../src/ledger/ledger-client";
import { api, flushLedger, uniqueSubject } from "../helpers/api";

const now = new Date();
const thisMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);

async function runCron(cron: string, scheduledTime: number): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron, scheduledTime }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function periodRows(subjects: string[]) {
  const { results } = await env.DB.prepare(
    `SELECT subject_id, meter, period_start, total_e4, event_count, limit_e4, end_value_e4, peak_e4, closed_at, restated_at
     FROM period_usage WHERE subject_id IN (${subjects.map(() => "?").join(",")}) ORDER BY subject_id, meter, period_start`,
  )
    .bind(...subjects)
    .all<Record<string, number | string | null>>();
  return results;
}

/** A count that has stayed the same for a second (a run working through the queue has finished). */
async function settledCount(read: () => Promise<number>): Promise<number> {
  let last = await read();
  for (let still = 0; still < 5; ) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await read();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

/** The rollover fans out through the queue; wait until every subject's ledger has flushed its rows. */
async function settle(subjects: string[], expectedRows: number) {
  await expect.poll(async () => (await periodRows(subjects)).length, { timeout: 15_000, interval: 200 }).toBe(expectedRows);
  for (const s of subjects) await flushLedger(s);
}

describe("monthly rollover", () => {
  it("closes every subject's month — busy, idle and gauges — once, and restates a closed month on a late event", async () => {
    await api("PUT", "/v1/plans/rollover-plan", {
      body: { entitlements: { fax: { limit: 100 }, storage: { limit: 50, period: "none" } } },
    });
    const busy = Array.from({ length: 12 }, () => uniqueSubject("busy"));
    const idle = uniqueSubject("idle");
    const gauge = uniqueSubject("gauge");
    await api("PUT", `/v1/subjects/${idle}`, { body: { planId: "rollover-plan" } });
    await api("POST", "/v1/usage/batch", {
      body: {
        events: busy.flatMap((subjectId, i) =>
          [1, 2].map((k) => ({ subjectId, meter: "fax", amount: i + k, idempotencyKey: `${i}-${k}` })),
        ),
      },
    });
    await api("POST", `/v1/subjects/${gauge}/meters/storage/increment`, { body: { amount: 30 } });
    await api("POST", `/v1/subjects/${gauge}/meters/storage/decrement`, { body: { amount: 10 } });
    for (const s of [...busy, gauge]) await flushLedger(s);

    await runCron("0 0 1 * *", nextMonth);
    const all = [...busy, idle, gauge];
    await settle(all, 12 + 1 + 1);
    const rows = await periodRows(all);
    const byKey = Object.fromEntries(rows.map((r) => [`${r.subject_id}/${r.meter}`, r]));
    expect(byKey[`${busy[3]}/fax`]).toMatchObject({ period_start: thisMonth, total_e4: (4 + 5) * 10_000, event_count: 2, limit_e4: null });
    // Idle subject with a plan: its entitled counter closes at 0 with the limit.
    expect(byKey[`${idle}/fax`]).toMatchObject({ period_start: thisMonth, total_e4: 0, event_count: 0, limit_e4: 100 * 10_000 });
    expect(byKey[`${gauge}/storage`]).toMatchObject({ total_e4: 20 * 10_000, end_value_e4: 20 * 10_000, peak_e4: 30 * 10_000 });

    // Running it again (or late) changes nothing.
    await runCron("0 0 1 * *", nextMonth);
    await new Promise((r) => setTimeout(r, 2_000));
    for (const s of all) await flushLedger(s);
    expect(await periodRows(all)).toEqual(rows);

    // A late event for the closed month restates its row.
    await api("POST", "/v1/usage", { body: { subjectId: busy[0], meter: "fax", amount: 7 } });
    await flushLedger(busy[0]!);
    const restated = (await periodRows([busy[0]!]))[0]!;
    expect(restated).toMatchObject({ total_e4: (1 + 2 + 7) * 10_000, event_count: 3, closed_at: byKey[`${busy[0]}/fax`]!.closed_at });
    expect(restated.restated_at).not.toBeNull();
    // …and tells a billing integration that the closed month changed.
    const { results: restatements } = await env.DB.prepare(
      "SELECT payload FROM notifications WHERE type = 'period.restated' AND subject_id = ?",
    )
      .bind(busy[0])
      .all<{ payload: string }>();
    expect(restatements.map((r) => JSON.parse(r.payload))).toEqual([
      {
        subjectId: busy[0],
        meter: "fax",
        periodStart: new Date(thisMonth).toISOString(),
        periodEnd: new Date(nextMonth).toISOString(),
        before: 1 + 2,
        after: 1 + 2 + 7,
        eventCountBefore: 2,
        eventCountAfter: 3,
      },
    ]);
    // So does a consume, which the ledger applies one event at a time.
    await api("POST", `/v1/subjects/${busy[2]}/entitlements/fax/consume`, { body: { amount: 1 } });
    await flushLedger(busy[2]!);
    expect((await periodRows([busy[2]!]))[0]).toMatchObject({
      total_e4: (3 + 4 + 1) * 10_000,
      event_count: 3,
      restated_at: expect.any(Number),
    });

    const periods = await api("GET", `/v1/periods?subjectId=${gauge}`);
    expect(periods.body.data).toEqual([
      expect.objectContaining({
        subjectId: gauge,
        meter: "storage",
        total: 20,
        endValue: 20,
        peak: 30,
        periodStart: new Date(thisMonth).toISOString(),
      }),
    ]);
    const { results: notes } = await env.DB.prepare("SELECT payload FROM notifications WHERE type = 'period.closed' AND subject_id = ?")
      .bind(busy[1])
      .all<{ payload: string }>();
    expect(notes).toHaveLength(1);
    expect(JSON.parse(notes[0]!.payload)).toEqual({
      subjectId: busy[1],
      periods: [
        {
          meter: "fax",
          periodStart: new Date(thisMonth).toISOString(),
          periodEnd: new Date(nextMonth).toISOString(),
          total: 2 + 3,
          eventCount: 2,
          limit: null,
        },
      ],
    });
  });
});

describe("rollover of idle subjects on anchor-day and daily periods", () => {
  it("closes the last ended anchor-day and daily period even when run late, then every period since, once", async () => {
    await api("PUT", "/v1/plans/idle-periods", {
      body: { entitlements: { fax: { limit: 10, period: "month" }, api_call: { limit: 5, period: "day" } } },
    });
    const subjectId = uniqueSubject("idle-anchor");
    await api("PUT", `/v1/subjects/${subjectId}`, { body: { planId: "idle-periods", billingAnchorDay: 15 } });
    // A manual rollover three hours into a day, not at midnight on the 1st.
    const late = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 3 * 3_600_000;
    await runCron("0 0 1 * *", late);
    await settle([subjectId], 2);
    const anchorPeriod = periodContaining(late, "month", 15);
    const lastAnchorPeriod = periodContaining(anchorPeriod.start - 1, "month", 15);
    const yesterday = periodContaining(late - 86_400_000, "day");
    expect(await periodRows([subjectId])).toEqual([
      expect.objectContaining({ meter: "api_call", period_start: yesterday.start, total_e4: 0, limit_e4: 5 * 10_000 }),
      expect.objectContaining({ meter: "fax", period_start: lastAnchorPeriod.start, total_e4: 0, limit_e4: 10 * 10_000 }),
    ]);
    const fax = (await periodRows([subjectId])).find((r) => r.meter === "fax")!;
    expect(fax).toMatchObject({ period_start: lastAnchorPeriod.start });
    expect((await api("GET", `/v1/periods?subjectId=${subjectId}&meter=fax`)).body.data[0]).toMatchObject({
      periodEnd: new Date(lastAnchorPeriod.end).toISOString(),
    });

    // Three days later: the three days in between get their rows, without a gap; running it again adds nothing.
    const anchorEnded = anchorPeriod.end <= late + 3 * 86_400_000 ? 1 : 0;
    await runCron("0 0 1 * *", late + 3 * 86_400_000);
    await settle([subjectId], 5 + anchorEnded);
    await runCron("0 0 1 * *", late + 3 * 86_400_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await flushLedger(subjectId);
    const days = (await periodRows([subjectId])).filter((r) => r.meter === "api_call").map((r) => Number(r.period_start));
    expect(days).toEqual([0, 1, 2, 3].map((k) => yesterday.start + k * 86_400_000));
  });
});

describe("rollover of unused allowance", () => {
  it("turns what a month left unused into a capped grant for the next month, once however often the cron runs", async () => {
    await api("PUT", "/v1/plans/rollover-credit", {
      body: { entitlements: { fax: { limit: 10, rollover: { maxAmount: 4, expiresAfterPeriods: 1 } } } },
    });
    const subject = uniqueSubject("carry");
    await api("PUT", `/v1/subjects/${subject}`, { body: { planId: "rollover-credit" } });
    await api("POST", "/v1/usage", { body: { subjectId: subject, meter: "fax", amount: 3 } });
    await flushLedger(subject);
    const grants = () => ledgerFor(env, subject).grants(subject, { meter: null, includeInactive: true });

    await runCron("0 0 1 * *", nextMonth);
    await settle([subject], 1);
    const first = await grants();
    expect(first).toMatchObject([{ source: "rollover", meter: "fax", amountE4: 4 * 10_000, effectiveAt: nextMonth }]);
    expect(first[0]!.expiresAt).toBe(Date.UTC(new Date(nextMonth).getUTCFullYear(), new Date(nextMonth).getUTCMonth() + 1, 1));

    await runCron("0 0 1 * *", nextMonth);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await grants()).toEqual(first);
  });
});

describe("daily reconciliation", () => {
  it("repairs a corrupted counter and reports it; a clean run reports zero drift", async () => {
    const subjects = Array.from({ length: 3 }, () => uniqueSubject("rec"));
    await api("POST", "/v1/usage/batch", {
      body: { events: subjects.map((subjectId, i) => ({ subjectId, meter: "api_call", amount: i + 1, idempotencyKey: "k" })) },
    });
    for (const s of subjects) await flushLedger(s);
    await runInDurableObject(env.LEDGER.getByName(subjects[1]!), (_i, state) => {
      state.storage.sql.exec("UPDATE usage_days SET total_e4 = total_e4 + 50000");
    });

    const day1 = Date.now();
    await runCron("0 3 * * *", day1);
    const run = (id: number) =>
      env.DB.prepare("SELECT * FROM reconciliation_runs WHERE run_id = ?")
        .bind(`reconcile-${new Date(id).toISOString()}`)
        .first<Record<string, number>>();
    await expect.poll(async () => (await run(day1))?.subjects_checked, { timeout: 15_000, interval: 200 }).toBeGreaterThanOrEqual(3);
    // The run also checks this file's earlier subjects, in id order: wait until its count stops moving.
    const checked = await settledCount(async () => (await run(day1))?.subjects_checked ?? 0);
    expect(await run(day1)).toMatchObject({ subjects_drifted: 1, counters_repaired: 1 });
    const repaired = await api("GET", `/v1/subjects/${subjects[1]}/entitlements`);
    expect(repaired.body.data[0]).toMatchObject({ meter: "api_call", used: 2 });

    const day2 = day1 + 86_400_000;
    await runCron("0 3 * * *", day2);
    await expect.poll(async () => (await run(day2))?.subjects_checked, { timeout: 15_000, interval: 200 }).toBe(checked);
    expect(await run(day2)).toMatchObject({ subjects_drifted: 0, counters_repaired: 0 });
  });
});
