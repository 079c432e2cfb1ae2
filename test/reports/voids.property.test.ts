import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, flushLedger, ledger, uniqueSubject } from "../helpers/api";

/**
 * Voids and amendments against a model of the events that stand (issue 13 §2): after random
 * events, a period closing and random voids (some twice, some by amendment), the ledger's counters,
 * history, summaries (from the events and from the rollups) and closed period rows all equal sums
 * over the non-voided events.
 */

const DAY = 86_400_000;
let run = 0;

const eventArb = fc.record({
  subject: fc.integer({ min: 0, max: 1 }),
  school: fc.constantFrom("S1", "S2"),
  // Within three hours of a local midnight in +05:30 (18:30 UTC), within two days, or weeks back.
  when: fc.oneof(
    fc.record({ nearLocalMidnight: fc.integer({ min: -3 * 3_600_000, max: 3 * 3_600_000 }) }),
    fc.record({ ageMs: fc.oneof(fc.integer({ min: 60_000, max: 2 * DAY }), fc.integer({ min: 20 * DAY, max: 22 * DAY })) }),
  ),
  amount: fc.integer({ min: 1, max: 9 }),
});
const caseArb = fc.record({
  events: fc.array(eventArb, { minLength: 1, maxLength: 14 }),
  voids: fc.array(fc.record({ index: fc.nat(), amendTo: fc.option(fc.integer({ min: 1, max: 9 }), { nil: null }) }), { maxLength: 8 }),
});

describe("voids against a model of the events that stand", () => {
  it("keep counters, history, summaries and period rows equal to sums over non-voided events", async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ events, voids }) => {
        run += 1;
        const meter = `vp_${run}`;
        expect((await api("PUT", `/v1/meters/${meter}`, { body: { unit: "item" } })).status).toBe(201);
        const subjects = [uniqueSubject("vp"), uniqueSubject("vp")];
        const now = Date.now();
        // The latest 18:30 UTC that lies at least three hours back.
        const localMidnight = Math.floor((now - 21.5 * 3_600_000) / DAY) * DAY + 18.5 * 3_600_000;
        const atOf = (e: (typeof events)[number]) => ("ageMs" in e.when ? now - e.when.ageMs : localMidnight + e.when.nearLocalMidnight);
        const drafts = events.map((e, i) => ({
          subjectId: subjects[e.subject]!,
          meter,
          amount: e.amount,
          timestamp: new Date(atOf(e)).toISOString(),
          dimensions: { schoolId: e.school },
          idempotencyKey: `e${i}`,
        }));
        const batch = await api("POST", "/v1/usage/batch", { body: { events: drafts } });
        const ids: string[] = batch.body.results.map((r: { id: string }) => r.id);
        for (const s of subjects) await flushLedger(s);

        // Close what ended before this month, so some voids land in a closed period.
        const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
        for (const s of subjects) await ledger(s).closePeriods(s, monthStart, { [meter]: "counter" });

        // The model: each event with the amount it stands at now (0 once voided).
        const standing = events.map((e, i) => ({ ...e, id: ids[i]!, at: atOf(e), amount: e.amount as number }));
        for (const v of voids) {
          const target = standing[v.index % standing.length]!;
          if (target.amount === 0) continue;
          if (v.amendTo === null) {
            expect((await api("POST", `/v1/usage/${target.id}/void`, { body: { reason: "property" } })).status).toBe(200);
            target.amount = 0;
          } else {
            const res = await api("POST", `/v1/usage/${target.id}/amend`, { body: { amount: v.amendTo } });
            expect(res.status, JSON.stringify(res.body)).toBe(200);
            standing.push({ ...target, id: res.body.event.id, amount: v.amendTo });
            target.amount = 0;
          }
          await flushLedger(subjects[target.subject]!);
        }
        for (const s of subjects) await flushLedger(s);
        const alive = standing.filter((e) => e.amount > 0);

        for (const [k, subjectId] of subjects.entries()) {
          const mine = alive.filter((e) => e.subject === k);
          const entitlements = (await api("GET", `/v1/subjects/${subjectId}/entitlements`)).body.data;
          const thisMonth = mine.filter((e) => e.at >= monthStart).reduce((s, e) => s + e.amount, 0);
          expect(entitlements.find((r: { meter: string }) => r.meter === meter)?.used ?? 0).toBe(thisMonth);

          const history = (await api("GET", `/v1/usage?subjectId=${subjectId}&meter=${meter}&limit=1000`)).body.data;
          expect(history.map((e: { id: string }) => e.id).sort()).toEqual(mine.map((e) => e.id).sort());

          const periods = (await api("GET", `/v1/periods?subjectId=${subjectId}&meter=${meter}`)).body.data;
          for (const p of periods) {
            const inside = mine.filter((e) => e.at >= Date.parse(p.periodStart) && e.at < Date.parse(p.periodEnd));
            expect({ total: p.total, eventCount: p.eventCount }).toEqual({
              total: inside.reduce((s, e) => s + e.amount, 0),
              eventCount: inside.length,
            });
          }
        }

        // Summaries: per subject and day (rollups, day grain), per school and day (rollups, quarter grain), and from the events.
        const QUARTER = 15 * 60_000;
        // Cut at quarter-hours inside days, so subject-day rollups answer through their quarter masks.
        const fromMs = Math.floor((now - 31 * DAY) / QUARTER) * QUARTER;
        const toMs = Math.ceil((now + 3_600_000) / QUARTER) * QUARTER;
        const from = new Date(fromMs).toISOString();
        const to = new Date(toMs).toISOString();
        const expected = (keyOf: (e: (typeof alive)[number]) => string) => {
          const groups = new Map<string, { total: number; count: number; subjects: Set<number> }>();
          for (const e of alive) {
            const g = groups.get(keyOf(e)) ?? { total: 0, count: 0, subjects: new Set() };
            g.total += e.amount;
            g.count += 1;
            g.subjects.add(e.subject);
            groups.set(keyOf(e), g);
          }
          return [...groups].map(([key, g]) => [key, g.total, g.count, g.subjects.size]).sort();
        };
        const day = (e: { at: number }) => new Date(Math.floor(e.at / DAY) * DAY).toISOString().slice(0, 10);
        for (const [groupBy, keyOf, rowKey] of [
          ["subjectId,day", (e: (typeof alive)[number]) => `${subjects[e.subject]}|${day(e)}`, (r: any) => `${r.subjectId}|${r.day}`],
          [
            "dimension.schoolId,day",
            (e: (typeof alive)[number]) => `${e.school}|${day(e)}`,
            (r: any) => `${r["dimension.schoolId"]}|${r.day}`,
          ],
          ["dimension.schoolId", (e: (typeof alive)[number]) => e.school, (r: any) => r["dimension.schoolId"]],
          ["meter", () => meter, (r: any) => r.meter],
          // Local days in +05:30 cut UTC days at 18:30: distinct subjects then come from the quarter masks.
          ["day&tz=Asia/Kolkata", (e: (typeof alive)[number]) => day({ at: e.at + 19_800_000 }), (r: any) => r.day],
        ] as const) {
          const res = await api("GET", `/v1/usage/summary?meter=${meter}&groupBy=${groupBy}&from=${from}&to=${to}`);
          expect(res.status).toBe(200);
          const got = res.body.data.map((r: any) => [rowKey(r), r.total, r.count, r.subjects]).sort();
          expect({ groupBy, got }).toEqual({ groupBy, got: expected(keyOf) });
        }
      }),
      { numRuns: 60 },
    );
  }, 600_000);
});
