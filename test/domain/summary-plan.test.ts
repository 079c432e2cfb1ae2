import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DAY_MS, dayPieces, planSummary, QUARTER_MS, type SummaryQuery } from "../../src/domain/summary-plan";

const base: SummaryQuery = { groupBy: ["meter"], dimensions: {}, buckets: null };
const at = (iso: string) => Date.parse(iso);

describe("planSummary", () => {
  it("answers from the events for one subject or a dimension the rollups do not keep", () => {
    expect(planSummary({ ...base, subjectId: "u1" })).toEqual({ source: "events" });
    expect(planSummary({ ...base, groupBy: ["dimension.colour"] })).toEqual({ source: "events" });
    expect(planSummary({ ...base, dimensions: { colour: "red" } })).toEqual({ source: "events" });
  });

  it("answers from the events when the range holds no whole quarter-hour", () => {
    const from = at("2026-03-01T10:01:00Z");
    expect(planSummary({ ...base, from, to: from + QUARTER_MS })).toEqual({ source: "events" });
  });

  it("splits a ragged range into whole quarter-hours and two event edges", () => {
    const from = at("2026-03-01T10:01:00Z");
    const to = at("2026-03-01T12:20:00Z");
    const plan = planSummary({ ...base, groupBy: ["dimension.schoolId"], from, to });
    expect(plan).toEqual({
      source: "rollups",
      grain: "quarter",
      dimensions: true,
      rollups: [{ label: null, from: at("2026-03-01T10:15:00Z") / QUARTER_MS, to: at("2026-03-01T12:15:00Z") / QUARTER_MS }],
      edges: [
        { label: null, from, to: at("2026-03-01T10:15:00Z") },
        { label: null, from: at("2026-03-01T12:15:00Z"), to },
      ],
    });
  });

  it("uses whole days when grouped by subject", () => {
    const from = at("2026-03-01T00:00:00Z");
    const plan = planSummary({ ...base, groupBy: ["subjectId"], from, to: from + 3 * DAY_MS });
    expect(plan).toMatchObject({ source: "rollups", grain: "day", edges: [] });
  });

  it("covers every millisecond of every bucket exactly once, clipped to from/to", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 * DAY_MS }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 10 * DAY_MS }),
        fc.integer({ min: 0, max: 10 * DAY_MS }),
        (widths, a, b) => {
          const origin = at("2026-01-01T00:07:00Z");
          const buckets = widths.map((_, i) => {
            const start = origin + widths.slice(0, i).reduce((s, w) => s + w, 0);
            return { label: `b${i}`, start, end: start + widths[i]! };
          });
          const [from, to] = [origin + Math.min(a, b), origin + Math.max(a, b)];
          const query = { ...base, groupBy: ["meter", "day"] as SummaryQuery["groupBy"], from, to, buckets };
          const plan = planSummary(query);
          if (plan.source === "events") return;
          const unitMs = plan.grain === "day" ? DAY_MS : QUARTER_MS;
          for (const bucket of buckets) {
            const start = Math.max(bucket.start, from);
            const end = Math.min(bucket.end, to);
            const pieces = [
              ...plan.rollups.filter((r) => r.label === bucket.label).map((r) => [r.from * unitMs, r.to * unitMs]),
              ...plan.edges.filter((e) => e.label === bucket.label).map((e) => [e.from, e.to]),
            ].sort((x, y) => x[0]! - y[0]!);
            const covered = pieces.reduce((s, [f, t]) => s + (t! - f!), 0);
            expect(covered).toBe(Math.max(end - start, 0));
            for (let i = 1; i < pieces.length; i++) expect(pieces[i]![0]).toBe(pieces[i - 1]![1]);
            if (pieces.length > 0) expect([pieces[0]![0], pieces.at(-1)![1]]).toEqual([start, end]);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("cuts quarter ranges into day pieces whose masks hold exactly the range's quarters", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 * 96 }), fc.integer({ min: 1, max: 10 * 96 }), (from, width) => {
        const to = from + width;
        const pieces = dayPieces([{ label: "x", from, to }]);
        const covered: number[] = [];
        for (const p of pieces) {
          expect(p.toDay).toBeGreaterThan(p.fromDay);
          for (let day = p.fromDay; day < p.toDay; day++) {
            for (let q = 0; q < 96; q++) {
              const mask = q < 48 ? p.am : p.pm;
              if (Math.floor(mask / 2 ** (q % 48)) % 2 === 1) covered.push(day * 96 + q);
            }
          }
        }
        expect(covered).toEqual(Array.from({ length: width }, (_, i) => from + i));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps an unbounded range to at most three pieces", () => {
    const pieces = dayPieces([{ label: null, from: 5, to: Math.floor(Number.MAX_SAFE_INTEGER / QUARTER_MS) }]);
    expect(pieces).toHaveLength(3);
    expect(pieces[1]).toMatchObject({ fromDay: 1, am: 2 ** 48 - 1, pm: 2 ** 48 - 1 });
  });
});
