import { describe, expect, it } from "vitest";
import {
  addToChecksum,
  archivePartKey,
  archivePrefix,
  checksumDifferences,
  compareText,
  type DayChecksum,
  firstHotDay,
  hotDays,
  isAfter,
  matchesFilter,
  mergePages,
  REPLAY_WINDOW_MS,
} from "../../src/domain/history-archive";
import { IDEMPOTENCY_RETENTION_MS } from "../../src/ledger/idempotency-keys";
import type { StoredEvent } from "../../src/domain/stored-event";

const DAY = 86_400_000;

function event(id: string, occurredAt: number, extra: Partial<StoredEvent> = {}): StoredEvent {
  return {
    id,
    subjectId: "s1",
    meter: "fax",
    unit: "page",
    amountE4: 10_000,
    operation: "add",
    occurredAt,
    receivedAt: occurredAt,
    source: "test",
    idempotencyKey: null,
    dimensions: {},
    metadata: {},
    ...extra,
  };
}

describe("history archive rules", () => {
  it("takes HISTORY_HOT_DAYS as a whole number of days, at least 40, else the default 90", () => {
    expect(hotDays(undefined)).toEqual({ days: 90 });
    expect(hotDays("")).toEqual({ days: 90 });
    expect(hotDays("40")).toEqual({ days: 40 });
    expect(hotDays(" 365 ")).toEqual({ days: 365 });
    for (const bad of ["39", "0", "-5", "1.5", "abc", "40d", "999999"]) expect(hotDays(bad)).toEqual({ days: 90, refused: bad });
  });

  it("waits out the ledgers' idempotency keys (kept up to a day past their retention) before archiving a day", () => {
    expect(REPLAY_WINDOW_MS).toBeGreaterThan(IDEMPOTENCY_RETENTION_MS + DAY);
  });

  it("archives only days wholly older than the window", () => {
    const asOf = 20_000 * DAY + 5;
    // Day 19,909 ended 90 days before asOf's day began: it is the newest day due, all day long.
    expect(firstHotDay(asOf, 90)).toBe(19_910);
    expect(firstHotDay(20_001 * DAY - 1, 90)).toBe(19_910);
    expect(firstHotDay(20_001 * DAY, 90)).toBe(19_911);
  });

  it("names each attempt's objects under its UTC day, in history order", () => {
    const prefix = archivePrefix(Date.UTC(2026, 7, 3) / DAY, "17-ab");
    expect(prefix).toBe("archive/v1/day=2026-08-03/17-ab/");
    expect(archivePartKey(prefix, 12)).toBe("archive/v1/day=2026-08-03/17-ab/part-00012.ndjson.gz");
    expect(archivePartKey(prefix, 9) < archivePartKey(prefix, 10)).toBe(true);
  });

  it("checksums per meter what the rollups hold: standing events and their net amount", () => {
    const sum: DayChecksum = {};
    addToChecksum(sum, event("a", 1));
    addToChecksum(sum, event("b", 2, { voidedAt: 5, voidReason: null }));
    addToChecksum(sum, event("c", 3, { meter: "storage", operation: "remove", amountE4: 300 }));
    addToChecksum(sum, event("d", 4, { meter: "storage", operation: "set", amountE4: 900 }));
    expect(sum).toEqual({ fax: { events: 2, standing: 1, netE4: 10_000 }, storage: { events: 2, standing: 2, netE4: -300 } });
    expect(checksumDifferences(sum, sum, ["events", "standing", "netE4"])).toEqual([]);
    expect(checksumDifferences(sum, { fax: sum.fax! }, ["standing"])).toEqual(['storage: {"events":2,"standing":2,"netE4":-300} ≠ null']);
    expect(checksumDifferences(sum, { ...sum, fax: { events: 1, standing: 1, netE4: 10_000 } }, ["standing", "netE4"])).toEqual([]);
  });

  it("orders text as SQLite does (code points), not as UTF-16 units", () => {
    expect(compareText("a", "b")).toBeLessThan(0);
    expect(compareText("ab", "a")).toBeGreaterThan(0);
    expect(compareText("\u{1F600}", "\uFFFD")).toBeGreaterThan(0);
    expect("\u{1F600}" < "\uFFFD").toBe(true);
  });

  it("filters archived events as history's SQL does", () => {
    const e = event("a", 100, { dimensions: { schoolId: "S1" }, voidedAt: null, voidReason: null });
    expect(matchesFilter(e, {})).toBe(true);
    expect(matchesFilter(e, { from: 100, to: 101, subjectId: "s1", meter: "fax", dimensions: { schoolId: "S1" } })).toBe(true);
    expect(matchesFilter(e, { from: 101 })).toBe(false);
    expect(matchesFilter(e, { to: 100 })).toBe(false);
    expect(matchesFilter(e, { dimensions: { schoolId: "S2" } })).toBe(false);
    expect(matchesFilter(e, { dimensions: { constructor: "x" } })).toBe(false);
    const voided = { ...e, voidedAt: 1 };
    expect(matchesFilter(voided, {})).toBe(false);
    expect(matchesFilter(voided, { includeVoided: true })).toBe(true);
  });

  it("merges two sorted pages in history order, once per event, after the cursor", () => {
    const [a, b, c, d] = [event("a", 1), event("b", 2), event("c", 2), event("d", 3)];
    expect(mergePages([d!, b!], [c!, b!, a!], 3, "newest").map((e) => e.id)).toEqual(["d", "c", "b"]);
    expect(mergePages([a!, c!], [b!, c!, d!], 10, "oldest").map((e) => e.id)).toEqual(["a", "b", "c", "d"]);
    expect(isAfter(b!, { occurredAt: 2, id: "c" }, "newest")).toBe(true);
    expect(isAfter(c!, { occurredAt: 2, id: "c" }, "newest")).toBe(false);
    expect(isAfter(c!, { occurredAt: 2, id: "b" }, "oldest")).toBe(true);
    expect(isAfter(a!, undefined, "oldest")).toBe(true);
  });
});
