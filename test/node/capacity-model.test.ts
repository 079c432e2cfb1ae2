import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  BACKENDS,
  type Backend,
  type BackendProjection,
  type CapacityInput,
  projectCapacity,
  rollupRowsOfDay,
} from "../../scripts/lib/capacity-model";
import { main, parseCapacityArgs, UsageError } from "../../scripts/simulate-capacity";

const base: CapacityInput = {
  subjects: 1_000,
  eventsPerSecond: 1,
  months: 24,
  hotDays: 90,
  topShare: 0.2,
  singleShare: 0,
  monthlyGrowth: 0,
};

function limit(projection: BackendProjection, name: string) {
  const found = projection.limits.find((l) => l.limit === name);
  if (!found) throw new Error(`no limit ${name}`);
  return found;
}

describe("capacity model: hand-computed figures", () => {
  it("1 event/s for a month is 2,592,000 events, 959.04 MB in D1 at 370 B", () => {
    const [month] = projectCapacity({ ...base, months: 1 }, "d1").months;
    expect(month!.events).toBe(2_592_000);
    expect(month!.storeBytes).toBe(959_040_000);
    expect(month!.storeRowsWrittenPerSecond).toBeCloseTo(9.1, 10);
  });

  it("1 event/s costs the plan plus the ledgers' requests above 1 M (0.7 per batch event)", () => {
    const [month] = projectCapacity({ ...base, months: 1 }, "d1").months;
    expect(month!.ledger.requestsPerSecond).toBeCloseTo(0.7, 10);
    // 1,814,400 requests, 814,400 above the allowance at $0.15/M; rows and storage within theirs.
    expect(month!.costUsd.ledger).toBeCloseTo(0.12216, 8);
    expect(month!.costUsd.history).toBe(0);
    expect(month!.costUsd.total).toBeCloseTo(5.12216, 8);
  });

  it("1 event/s fills one 10 GB D1 on day 313 (month 11)", () => {
    const size = limit(projectCapacity(base, "d1"), "D1 database size");
    // 10e9 / (86,400 × 370) = 312.8 days
    expect(size.breaksOnDay).toBe(313);
    expect(size.breaksInMonth).toBe(11);
  });

  it("100 events/s fills 10 GB of D1 in the first month (day 4), with or without the archive", () => {
    for (const backend of ["d1", "d1-archive"] as const) {
      const size = limit(projectCapacity({ ...base, eventsPerSecond: 100, months: 3 }, backend), "D1 database size");
      expect(size.breaksInMonth).toBe(1);
      expect(size.breaksOnDay).toBe(4);
    }
  });

  it("d1-archive at 1 event/s keeps 90 days hot, never fills D1, and a 12-month export reads 270 R2 objects", () => {
    const projection = projectCapacity(base, "d1-archive");
    const month12 = projection.months[11]!;
    expect(month12.fanOut.export12Months).toBe(1 + 270);
    expect(month12.fanOut.summary).toBe(1);
    // 270 archived days × 86,400 events × 320 B ÷ 8
    expect(month12.archiveBytes).toBeCloseTo(933_120_000, 0);
    const hotBytes = 90 * 86_400 * 370;
    expect(month12.storeBytes).toBeGreaterThan(hotBytes);
    expect(month12.storeBytes).toBeLessThan(hotBytes + 270 * rollupRowsOfDay(1_000, 86_400) * 40 + 1);
    expect(projection.months[23]!.fanOut.export12Months).toBe(271);
    expect(limit(projection, "D1 database size").breaksInMonth).toBeNull();
  });

  it("d1-archive with a hot window longer than the run is the d1 backend", () => {
    const archive = projectCapacity({ ...base, hotDays: 24 * 30 }, "d1-archive");
    const d1 = projectCapacity(base, "d1");
    expect(archive.months.map((m) => m.storeBytes)).toEqual(d1.months.map((m) => m.storeBytes));
    expect(archive.months.every((m) => m.archiveBytes === 0 && m.fanOut.export12Months === 1)).toBe(true);
  });

  it("postgres: 818 B (measured) and at most 9 rows per event, the smallest tier, one partition a month", () => {
    const months = projectCapacity({ ...base, months: 13 }, "postgres").months;
    expect(months[0]!.storeBytes).toBe(2_592_000 * 818);
    expect(months[0]!.storeRowsWrittenPerSecond).toBeCloseTo(9, 10);
    expect(months[0]!.postgresTier).toBe("2 vCPU / 8 GB");
    expect(months[0]!.costUsd.history).toBeCloseTo(130 + 2.120256 * 0.115, 8);
    expect(months[0]!.fanOut.detail).toBe("1 instance, 1 monthly partition");
    expect(months[12]!.fanOut.detail).toBe("1 instance, 12 monthly partitions");
  });

  it("the biggest subject's ledger is bounded by 41 days of keys", () => {
    const calm = projectCapacity(base, "d1");
    const storage = limit(calm, "biggest subject's ledger storage");
    // 20 % × 86,400 events a day × 41 days × 200 B
    expect(storage.peak).toBeCloseTo(141_696_000, 0);
    expect(calm.months[1]!.ledger.biggestSubjectBytes).toBeCloseTo(141_696_000, 0);
    expect(calm.months[23]!.ledger.biggestSubjectBytes).toBeCloseTo(141_696_000, 0);
    expect(storage.breaksInMonth).toBeNull();
    // At 100 events/s: 20 × 86,400 × 200 B a day passes 10 GB on day 29.
    const busy = limit(projectCapacity({ ...base, eventsPerSecond: 100 }, "d1"), "biggest subject's ledger storage");
    expect(busy.breaksOnDay).toBe(29);
  });

  it("rollup rows grow with active subject-days and level off, never above 4 per event", () => {
    expect(rollupRowsOfDay(1_000, 0)).toBe(0);
    expect(rollupRowsOfDay(1_000, 1)).toBeLessThanOrEqual(4);
    const saturated = 1_000 * 2 + 1_000 * 2 * 3 + 96 * 2 + 96 * 2 * 100;
    expect(rollupRowsOfDay(1_000, 1e12)).toBeCloseTo(saturated, 6);
  });
});

describe("capacity model: edges", () => {
  it("rate 0 stores nothing, costs the plan and breaks nothing", () => {
    for (const backend of BACKENDS) {
      const projection = projectCapacity({ ...base, eventsPerSecond: 0 }, backend);
      for (const month of projection.months) {
        expect(month.storeBytes).toBe(0);
        expect(month.costUsd.total).toBe(backend === "postgres" ? 5 + 130 : 5);
        expect(month.fanOut.export12Months).toBe(1);
      }
      expect(projection.limits.every((l) => l.breaksInMonth === null)).toBe(true);
    }
  });

  it("a billion events/s stays finite and breaks the size and write limits on day 1", () => {
    for (const backend of BACKENDS) {
      const projection = projectCapacity({ ...base, eventsPerSecond: 1e9, months: 600, monthlyGrowth: 1 }, backend);
      const numbers = projection.months.flatMap((m) => [m.storeBytes, m.archiveBytes, m.writerLoad, m.costUsd.total]);
      expect(numbers.every(Number.isFinite)).toBe(true);
      const writes = backend === "postgres" ? "PostgreSQL write ceiling" : "D1 writer (one thread)";
      expect(limit(projection, writes).breaksOnDay).toBe(1);
    }
  });

  it("one month gives one row", () => {
    for (const backend of BACKENDS) expect(projectCapacity({ ...base, months: 1 }, backend).months).toHaveLength(1);
  });
});

describe("capacity model: properties", () => {
  const inputs = fc.record({
    subjects: fc.integer({ min: 1, max: 100_000 }),
    eventsPerSecond: fc.double({ min: 0, max: 20_000, noNaN: true }),
    months: fc.integer({ min: 1, max: 18 }),
    hotDays: fc.integer({ min: 36, max: 400 }),
    topShare: fc.double({ min: 0, max: 1, noNaN: true }),
    singleShare: fc.double({ min: 0, max: 1, noNaN: true }),
    monthlyGrowth: fc.double({ min: 0, max: 0.5, noNaN: true }),
  });
  const backends = fc.constantFrom<Backend>(...BACKENDS);
  const never = Number.POSITIVE_INFINITY;

  it("more rate never breaks a limit later, nor costs less", () => {
    fc.assert(
      fc.property(inputs, fc.double({ min: 1, max: 10, noNaN: true }), backends, (input, factor, backend) => {
        const slow = projectCapacity(input, backend);
        const fast = projectCapacity({ ...input, eventsPerSecond: input.eventsPerSecond * factor }, backend);
        slow.limits.forEach((slowLimit, i) => {
          expect(fast.limits[i]!.breaksOnDay ?? never).toBeLessThanOrEqual(slowLimit.breaksOnDay ?? never);
        });
        slow.months.forEach((month, i) => {
          expect(fast.months[i]!.costUsd.total).toBeGreaterThanOrEqual(month.costUsd.total - 1e-9);
        });
      }),
      { numRuns: 60 },
    );
  });

  it("more hot days never make D1 smaller", () => {
    fc.assert(
      fc.property(inputs, fc.integer({ min: 0, max: 400 }), (input, extraDays) => {
        const short = projectCapacity(input, "d1-archive");
        const long = projectCapacity({ ...input, hotDays: input.hotDays + extraDays }, "d1-archive");
        short.months.forEach((month, i) => {
          expect(long.months[i]!.storeBytes).toBeGreaterThanOrEqual(month.storeBytes * (1 - 1e-12));
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe("simulate:capacity arguments", () => {
  it("has defaults", () => {
    const command = parseCapacityArgs([]);
    expect(command).toEqual({ kind: "run", input: base, backends: [...BACKENDS], json: false });
  });

  it("reads every option; growth is a percentage", () => {
    const command = parseCapacityArgs(
      "--subjects 50 --rate 2.5 --months 6 --backend d1-archive --hot-days 40 --top-share 0.5 --single-share 1 --growth 10 --json".split(
        " ",
      ),
    );
    expect(command).toEqual({
      kind: "run",
      input: { subjects: 50, eventsPerSecond: 2.5, months: 6, hotDays: 40, topShare: 0.5, singleShare: 1, monthlyGrowth: 0.1 },
      backends: ["d1-archive"],
      json: true,
    });
  });

  it("--help asks for the usage", () => {
    expect(parseCapacityArgs(["--help"])).toEqual({ kind: "help" });
  });

  it.each([
    [["--rate=-1"], "--rate must be between 0"],
    [["--rate", "-1"], "ambiguous"],
    [["--rate", "NaN"], "--rate must be a number"],
    [["--rate", "abc"], "--rate must be a number"],
    [["--rate", ""], "--rate must be a number"],
    [["--rate", "Infinity"], "--rate must be a number"],
    [["--subjects", "0"], "--subjects must be between 1"],
    [["--subjects", "2.5"], "--subjects must be a whole number"],
    [["--months", "0"], "--months must be between 1 and 600"],
    [["--months", "601"], "--months must be between 1 and 600"],
    [["--hot-days", "35"], "--hot-days must be between 36"],
    [["--top-share", "1.5"], "--top-share must be between 0 and 1"],
    [["--backend", "sqlite"], "--backend must be one of d1, d1-archive, postgres or all"],
    [["--frobnicate"], "Unknown option"],
    [["extra"], "Unexpected argument"],
  ])("rejects %j", (argv, message) => {
    expect(() => parseCapacityArgs(argv)).toThrow(UsageError);
    expect(() => parseCapacityArgs(argv)).toThrow(message);
  });

  it("exits 2 on a bad value, 0 on --help", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      expect(main(["--months", "NaN"])).toBe(2);
      expect(error.mock.calls[0]![0]).toContain("--months must be a number");
      expect(main(["--help"])).toBe(0);
      expect(log.mock.calls[0]![0]).toContain("Usage: npm run simulate:capacity");
      expect(main(["--rate", "100", "--months", "2", "--json"])).toBe(0);
      const output = JSON.parse(log.mock.calls[1]![0] as string);
      expect(output.backends.map((b: BackendProjection) => b.backend)).toEqual([...BACKENDS]);
    } finally {
      error.mockRestore();
      log.mockRestore();
    }
  });
});
